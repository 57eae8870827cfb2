from django.http import HttpRequest

from trackerui.accounts.selectors import organization_for_request, organizations_for_user


def organization(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "current_organization": organization_for_request(request),
        "user_organizations": organizations_for_user(request.user),
    }
