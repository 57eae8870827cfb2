"""Writes that need both apps and their deliveries, so they live above `mappings` and `delivery`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from delivery.outbox.state import deliveries_archive
from mappings.models import App


def app_archive(*, app: App) -> int:
    """Delete an app as its organization sees it; return how many waiting deliveries ended failed.

    The row stays, archived, so support staff can still read its history and audit trail in
    the admin. From now on it accepts no events (404), sends nothing (its waiting deliveries
    end failed, "app deleted"), and its Chartboost app ID is free for another app. The token
    is erased: nothing will be signed with it again.
    """
    if app.archived_at is not None:
        # Archived already: deleting it again changes nothing, not even when it was deleted.
        return 0
    with transaction.atomic():
        app.archived_at = timezone.now()
        app.chartboost_app_token = ""
        # Not full_clean(): an archived app has no token, which the validator would refuse.
        app.save(update_fields=["archived_at", "chartboost_app_token", "chartboost_app_token_hint", "updated_at"])
        return deliveries_archive(app_id=app.pk)
