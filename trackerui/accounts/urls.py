"""Sign in and out, passwords (Django's auth views, our templates), and the organization switcher."""

from django.urls import include, path

from trackerui.accounts import views

urlpatterns = [
    # Before Django's own, which it replaces.
    path("password_reset/", views.RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
    path("organization/", views.organization_switch, name="organization-switch"),
]
