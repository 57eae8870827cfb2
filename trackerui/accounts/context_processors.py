from django.http import HttpRequest

from trackerui.accounts.roles import request_is_owner
from trackerui.accounts.selectors import (
    invitations_pending_for_user,
    organization_for_request,
    organizations_for_user,
)


def organization(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    current = organization_for_request(request)
    return {
        "current_organization": current,
        "user_organizations": organizations_for_user(request.user),
        # Pages hide the owner's actions from members; the views refuse them anyway.
        "is_organization_owner": current is not None and request_is_owner(request),
        # For the banner that asks the user to answer their invitations, on every full page.
        # A queryset, so a partial that shows no banner costs no query.
        "pending_invitations": invitations_pending_for_user(request.user),
    }
