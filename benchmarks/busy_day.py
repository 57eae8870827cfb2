"""A day of a busy app, stored: what the simulator benchmarks read (`make bench`, `make bench-suite`).

`events` stored events of the draft's name over the last day from `devices` devices, one in fifty
without the level property, a quarter of the devices with a stored level; plus as many events of
another name, which the draft does not read. Bulk-inserted (Django must be set up).
"""

from __future__ import annotations

import time

from delivery.bulk_insert import rows_insert
from delivery.models import DeviceLevel, TrackedEvent
from mappings.models import App

# The draft mapping the benchmarks simulate: sequential, reading its levels and a description.
DRAFT = {"event_name": "level_complete", "event_field": 1, "main_level_property": "level",
         "sub_level_property": "stage", "description_property": "level_name"}
_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "properties")


def busy_day_store(app: App, *, events: int, devices: int) -> None:
    now = int(time.time())
    for name in ("level_complete", "session_start"):
        rows = []
        for n in range(events):
            device = f"{n % devices:032x}"
            properties = {"stage": n % 3, "level_name": f"Level {n % 50}"}
            if n % 50:
                properties["level"] = 1 + (n // devices) % 200
            rows.append((f"{name}-{n}", name, now - 86000 + n * 86000 // events, "iOS 17.4", {"ifa": device},
                         device, properties))
        for start in range(0, events, 5000):
            rows_insert(TrackedEvent, rows[start:start + 5000], fields=_FIELDS, same={"app": app.pk})
    DeviceLevel.objects.bulk_create([
        DeviceLevel(app=app, device=f"{n:032x}", event_field=1, main_level=2, sub_level=0)
        for n in range(0, devices, 4)
    ])
