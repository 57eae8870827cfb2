"""All URLs. trackerui sits on top: it wires accounts, mappings and delivery together."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from delivery.api_segment import BatchApi, TrackApi
from trackerui.foundation.api_docs import ApiDocsView
from trackerui.foundation.api_errors import api_not_found


def home(request: HttpRequest) -> HttpResponseRedirect:
    return redirect("app-list" if request.user.is_authenticated else "login")


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Browsers ask for /favicon.ico whatever the pages link: send them to the one icon we have.
    # Resolved per request, since the hashed static name is known only once collectstatic ran.
    return redirect(static("img/favicon.svg"), permanent=True)


api_v1 = [
    path("", include("trackerui.dashboard.api_urls")),
    path("", include("mappings.api_urls")),
    path("", include("delivery.api_urls")),
    path("", include("trackerui.accounts.api_urls")),
    path("", include("delivery.alerts.api_urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("trackerui.accounts.urls")),
    path("settings/alerts/", include("delivery.alerts.urls")),
    path("settings/", include("trackerui.accounts.settings_urls")),
    path("invitations/", include("trackerui.accounts.invitation_urls")),
    path("", include("trackerui.dashboard.urls")),
    path("", include("delivery.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # The Segment HTTP tracking API, where Segment's and RudderStack's SDKs send (delivery/api_segment.py).
    path("v1/track", TrackApi.as_view(), name="segment-track"),
    path("v1/batch", BatchApi.as_view(), name="segment-batch"),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
    # Last: any other /api/ path is a JSON 404, even with DEBUG on, where Django's own
    # 404 page would bypass handler404 (trackerui/foundation/api_errors.py).
    re_path(r"^api/", api_not_found),
    re_path(r"^v1/", api_not_found),
]

# JSON for /api/ 404s raised outside the API views, the dashboard page elsewhere.
handler404 = "trackerui.foundation.api_errors.not_found"
