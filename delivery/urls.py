"""Pages for deliveries across apps, the organization's Privacy settings (forget a device), and /healthz
and /metrics, included at the site root by trackerui.urls.

An app's own delivery pages (its Deliveries tab, the export, recovery, the test event) are routed
with the app's other pages, in trackerui/dashboard/urls.py.
"""

from django.urls import path

from delivery import ops_views, views

urlpatterns = [
    path("deliveries/", views.delivery_search, name="delivery-search"),
    path("deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:delivery_id>/retry/", views.delivery_retry_view, name="delivery-retry"),
    path("settings/privacy/", views.privacy_settings, name="privacy"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
]
