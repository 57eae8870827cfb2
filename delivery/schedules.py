"""The django-q2 schedules that `qcluster` runs for delivery, installed after every `migrate`.

- every minute, make sure the dispatcher loop runs (delivery/outbox/dispatcher.py);
- every day, prune old deliveries (delivery/history/retention.py).
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django_q.models import Schedule

from delivery.history import retention
from delivery.outbox import dispatcher


def schedules_install(**kwargs: Any) -> None:
    """post_migrate: make sure each schedule exists, as defined here (idempotent)."""
    using = kwargs.get("using", "default")
    # `migrate delivery` alone may run before django_q's tables exist; the full migrate comes back here.
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return
    schedules = {
        dispatcher.SCHEDULE_NAME: {"func": dispatcher.ENSURE_TASK, "schedule_type": Schedule.MINUTES, "minutes": 1},
        retention.SCHEDULE_NAME: {"func": retention.PRUNE_TASK, "schedule_type": Schedule.DAILY},
    }
    for name, defaults in schedules.items():
        Schedule.objects.using(using).update_or_create(name=name, defaults={**defaults, "repeats": -1})
