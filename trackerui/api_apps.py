"""`DELETE /api/v1/apps/{app_id}/`: deleting an app archives it (`trackerui.services.app_archive`).

Reading and changing an app are `mappings.api.AppDetailApi`'s. Deleting one also fails its
waiting deliveries, which `mappings` may not import, so the view for the whole URL is that
one plus `delete`, defined here, in the layer above both, and routed by `trackerui.urls`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mappings import api as mappings_api
from mappings.selectors import app_get_for_request
from trackerui.services import app_archive


@extend_schema(tags=["apps"], parameters=[mappings_api.APP_ID_PARAMETER])
class AppDetailApi(mappings_api.AppDetailApi):
    @extend_schema(
        operation_id="apps_destroy",
        responses={204: None},
        description="Archives the app: it stops accepting events and sending, its waiting deliveries end "
        "`failed` (\"app deleted\"), its token is erased, and its Chartboost app ID is free again. "
        "It no longer appears in the API.",
    )
    def delete(self, request: Request, app_id: int) -> Response:
        app_archive(app=app_get_for_request(request, app_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
