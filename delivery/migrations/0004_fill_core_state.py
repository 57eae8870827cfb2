"""Fill what the rebuilt delivery core reads from existing rows, so nothing shown changes on upgrade.

- `DeliveryRollup`: one row per (app, UTC hour of creation, Event ID, status) with its count.
- `first_attempt_at`: before, a manual retry cleared it; it is now the very first attempt,
  read back from the attempts. The window that the old column held becomes
  `retry_window_started_at`.
- `AppQueue`: one row per app, due at once when it has anything waiting, so the dispatcher
  looks at it on its first tick.
"""

from django.db import migrations
from django.db.models import Count, Min
from django.db.models.functions import TruncHour
from django.utils import timezone

SENDABLE = ("pending", "retrying")
BATCH = 2000


def fill(apps, schema_editor):
    Delivery = apps.get_model("delivery", "Delivery")
    Attempt = apps.get_model("delivery", "Attempt")
    DeliveryRollup = apps.get_model("delivery", "DeliveryRollup")
    AppQueue = apps.get_model("delivery", "AppQueue")
    App = apps.get_model("mappings", "App")

    groups = (
        Delivery.objects.annotate(hour=TruncHour("created_at"))
        .values("app_id", "hour", "event_field", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    DeliveryRollup.objects.bulk_create(
        [DeliveryRollup(app_id=g["app_id"], hour=g["hour"], event_field=g["event_field"], status=g["status"],
                        count=g["count"]) for g in groups],
        batch_size=BATCH,
    )

    firsts = Attempt.objects.values("delivery_id").annotate(first=Min("started_at")).order_by("delivery_id")
    changed = []
    for row in firsts.iterator(chunk_size=BATCH):
        changed.append(Delivery(pk=row["delivery_id"], first_attempt_at=row["first"]))
        if len(changed) >= BATCH:
            Delivery.objects.bulk_update(changed, ["first_attempt_at"])
            changed = []
    Delivery.objects.bulk_update(changed, ["first_attempt_at"])

    now = timezone.now()
    waiting = set(Delivery.objects.filter(status__in=SENDABLE).values_list("app_id", flat=True).distinct())
    AppQueue.objects.bulk_create(
        [AppQueue(app_id=app_id, due_at=now if app_id in waiting else None)
         for app_id in App.objects.values_list("id", flat=True)],
        batch_size=BATCH,
    )


def copy_window(apps, schema_editor):
    """The old `first_attempt_at` was the start of the current retry window."""
    Delivery = apps.get_model("delivery", "Delivery")
    from django.db.models import F

    Delivery.objects.filter(first_attempt_at__isnull=False).update(retry_window_started_at=F("first_attempt_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("delivery", "0003_core_state_and_rollups"),
    ]

    operations = [
        migrations.RunPython(copy_window, migrations.RunPython.noop),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
