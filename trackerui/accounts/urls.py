"""Sign in and out, passwords (Django's auth views, our templates), and the organization switcher."""

from django.urls import include, path

from trackerui.accounts import views

urlpatterns = [
    path("", include("django.contrib.auth.urls")),
    path("organization/", views.organization_switch, name="organization-switch"),
]
