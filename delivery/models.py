"""Tracked events, their deliveries to Chartboost, and every attempt.

Our tables are the truth about delivery state; the queue only says "look at this now".
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from mappings.models import App, Mapping
from trackerui.accounts.audit import AuditedRecords
from trackerui.accounts.models import Organization


class EventName(models.Model):
    """Every event name seen per app, so the dashboard can offer unmapped ones."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="event_names")
    name = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    count = models.PositiveBigIntegerField(default=0)
    example_properties = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="one_event_name_per_app")
        ]
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.name


class TrackedEvent(models.Model):
    """One occurrence the customer sent us, accepted or unmapped (rejected ones are not stored)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="tracked_events")
    event_id = models.CharField(max_length=128)
    name = models.CharField(max_length=255)
    timestamp = models.BigIntegerField(help_text="Unix seconds, the event's own time.")
    platform = models.CharField(max_length=64)
    # As received (only usable identifiers: an all-zero ifa/gaid is dropped).
    identifiers = models.JSONField(default=dict)
    # Normalised identity: ifa, else gaid, else uuid; lowercase without dashes.
    device = models.CharField(max_length=64, blank=True, db_index=True)
    # The SHA-256 of the device as it sends its advertising id, lowercase (`delivery/ingest/schema.py::
    # device_digest`), so an OpenDSR erasure naming a hashed id finds the device through an index.
    device_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    properties = models.JSONField(default=dict, blank=True)
    sdk_version = models.CharField(max_length=32, blank=True)
    limit_ad_tracking = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "event_id"], name="one_event_id_per_app")
        ]
        indexes = [
            # Simulate and backfill read an app's events by their own time.
            models.Index(fields=["app", "timestamp"], name="tracked_event_app_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.name})"


class Backfill(models.Model):
    """A request to send one Event ID's mapping over an app's stored events since a time: who, when, what, how many.

    Kept as the audit of backfills (`delivery/ingest/backfill.py`); `created` grows as its task
    creates the deliveries, in chunks.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="backfills")
    event_field = models.PositiveSmallIntegerField()
    event_name = models.CharField(max_length=255)
    since = models.DateTimeField()
    requested_at = models.DateTimeField(default=timezone.now)
    actor_type = models.CharField(max_length=10)
    actor_name = models.CharField(max_length=200)
    source = models.CharField(max_length=10)
    # The stored events without a delivery for the Event ID when it was asked for.
    count = models.PositiveIntegerField(default=0)
    # Deliveries created so far (pending, suppressed or blocked), and events whose properties the mapping cannot read.
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill of Event ID {self.event_field} since {self.since:%Y-%m-%d %H:%M} ({self.count})"


class IngestOutcome(models.Model):
    """What became of one recently received event, for the Live events page: a ring of the last
    `LIVE_EVENTS_KEPT` per app (`delivery/history/live.py`), written in the ingest's transaction.

    Duplicates and rejected events are not stored as tracked events, so this is where they are seen.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10)
    # The stored event's id, when accepted or unmapped: its deliveries are read by it. Not a foreign
    # key, so pruning or erasing events never has to visit this ring (an id that is gone shows nothing).
    tracked_event_pk = models.BigIntegerField(null=True, blank=True)
    # Why it was rejected, per field, as the ingest API answered.
    errors = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["app", "-id"], name="ingest_outcome_app_recent")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.status}"


class Delivery(models.Model):
    """One (tracked event, mapping) pair on its way to Chartboost."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        BLOCKED = "blocked", "Blocked"

    SENDABLE = (Status.PENDING, Status.RETRYING)
    # Decided when it was created, and never sent: pages and the API say "would have", never "sent".
    NEVER_SENT = (Status.SUPPRESSED, Status.BLOCKED)

    event = models.ForeignKey(TrackedEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalised from the event and mapping for filtering and for history that
    # outlives a deleted mapping.
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="deliveries")
    mapping = models.ForeignKey(
        Mapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event_field = models.PositiveSmallIntegerField()
    device = models.CharField(max_length=64, blank=True)
    # The `track_info` item, fixed at ingest so every retry sends the same body.
    item = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Why it is suppressed, blocked or failed, in plain words.
    reason = models.TextField(blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    # Attempts made before the current retry window: a manual retry or recover starts the
    # schedule (2, 4, 8, 16 s ...) and RETRY_MAX_AGE over, while attempt_count keeps counting.
    attempts_before_window = models.PositiveIntegerField(default=0)
    # When the next attempt is due; never a lease's expiry. Null once it will not be sent.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The very first attempt, never reset (a manual retry restarts only the retry window).
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the current retry window began: the first attempt, or the latest manual retry's
    # first attempt. RETRY_MAX_AGE counts from here.
    retry_window_started_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim: whoever holds `lease_token` until `lease_until` may send it.
    lease_token = models.CharField(max_length=32, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The dispatcher claims one app at a time, through this index alone: a paused app or
            # one behind an open circuit is never read, however large its backlog.
            models.Index(fields=["app", "next_attempt_at"], condition=Q(next_attempt_at__isnull=False),
                         name="delivery_app_due"),
            # Pruning walks finished deliveries by age.
            models.Index(fields=["created_at"], name="delivery_created"),
            models.Index(fields=["app", "created_at"], name="delivery_app_created"),
            models.Index(fields=["app", "status"], name="delivery_app_status"),
            models.Index(fields=["app", "device"], name="delivery_app_device"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_field__gte=1, event_field__lte=5),
                name="delivery_event_field_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"


class Attempt(models.Model):
    """One try at sending a delivery. The request is stored with the token redacted."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    endpoint = models.CharField(max_length=500)
    request_headers = models.JSONField(default=dict)
    request_body = models.JSONField(default=dict)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # delivered, retry or failed: what this answer meant.
    outcome = models.CharField(max_length=10)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id} ({self.outcome})"


class DeviceLevel(models.Model):
    """The highest (main_level, sub_level) accepted so far per (app, device, sequential field)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    device = models.CharField(max_length=64)
    # As on TrackedEvent: high-water marks outlive the events, and an erasure must still find them.
    device_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    event_field = models.PositiveSmallIntegerField()
    main_level = models.IntegerField()
    sub_level = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "device", "event_field"], name="one_level_per_device_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device} field {self.event_field}: {self.main_level}.{self.sub_level}"


class ErasedEvent(models.Model):
    """The key of a tracked event erased with its device (`delivery/erasure.py`), kept as a hash.

    Ingestion reads these with the stored event ids, so an erased event sent again still answers
    `duplicate` rather than being stored and sent anew; pruning drops them once their timestamp is
    older than the retention period, as it does tracked events (ingestion refuses those anyway).
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the event_id: an event_id may embed an identifier, and only equality is ever asked.
    event_id_sha256 = models.CharField(max_length=64)
    timestamp = models.BigIntegerField(help_text="Unix seconds, the erased event's own time.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "event_id_sha256"], name="one_erased_event_id_per_app")
        ]
        indexes = [models.Index(fields=["timestamp"], name="erasedevent_timestamp")]

    def __str__(self) -> str:
        return f"Erased event of app {self.app_id}"


class Erasure(models.Model):
    """One device's data erased from an organization's apps: a "Forget a device" call or page, or an
    OpenDSR erasure request. It keeps when, how many rows of each kind went and (in its audit trail)
    who asked, never the identifiers.
    """

    class Kind(models.TextChoices):
        FORGET = "forget", "Forget a device"
        OPENDSR = "opendsr", "OpenDSR request"

    class Status(models.TextChoices):
        # OpenDSR's words.
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="erasures")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # OpenDSR's `subject_request_id`, unique per organization; null for "Forget a device".
    subject_request_id = models.UUIDField(null=True, blank=True)
    # OpenDSR's `submitted_time`: when the data subject asked.
    submitted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # What was erased, per kind of row.
    tracked_events = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    device_levels = models.PositiveIntegerField(default=0)
    catalogue_examples = models.PositiveIntegerField(default=0)
    rejection_examples = models.PositiveIntegerField(default=0)

    audit_trail = AuditedRecords(shown=("kind", "status", "tracked_events", "deliveries", "attempts",
                                        "device_levels", "catalogue_examples", "rejection_examples"))

    COUNTED = ("tracked_events", "deliveries", "attempts", "device_levels", "catalogue_examples",
               "rejection_examples")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "subject_request_id"],
                                    condition=Q(subject_request_id__isnull=False),
                                    name="one_subject_request_per_organization"),
        ]

    def __str__(self) -> str:
        return f"Erasure #{self.pk} ({self.kind}, {self.status})"

    def counts(self) -> dict[str, int]:
        """How many rows of each kind were erased, in a fixed order."""
        return {name: getattr(self, name) for name in self.COUNTED}


class WorkerLease(models.Model):
    """A named singleton job (the dispatcher) and who holds it until when."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    # When the holder last took or renewed it: the workers' heartbeat, seen from any host.
    renewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class AppSendingState(models.Model):
    """An app's sending state, which belongs to no single delivery: when the app next has
    something due (the due hint), its circuit, a pause asked for by Chartboost (HTTP 429),
    when it last had a delivery delivered, and a token that could not be decrypted.
    (Named `AppQueue` before 0009: it is no queue, our tables are.)

    Written only by `delivery.outbox.state` (the due hint, an unreadable token) and
    `delivery.outbox.circuit`.
    """

    class Circuit(models.TextChoices):
        CLOSED = "closed", "Closed"
        OPEN = "open", "Open"

    app = models.OneToOneField(App, primary_key=True, on_delete=models.CASCADE, related_name="sending_state")
    # The earliest time one of the app's deliveries may be due. It may be early (then the
    # dispatcher looks, finds nothing and moves it on) but never late. Null: nothing waits.
    due_at = models.DateTimeField(null=True, blank=True)
    circuit = models.CharField(max_length=6, choices=Circuit.choices, default=Circuit.CLOSED)
    # When the circuit last changed state.
    circuit_since = models.DateTimeField(null=True, blank=True)
    # Requests answered in a retryable way in a row (HTTP 5xx, timeouts, unreadable bodies).
    failures = models.PositiveIntegerField(default=0)
    # While open: the wait before the next probe, which doubles after each failed one.
    probe_interval = models.FloatField(default=0)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    # A probe is in flight until then (a lease: a worker that dies with it frees it).
    probe_until = models.DateTimeField(null=True, blank=True)
    # Chartboost asked us to slow down (status 429): nothing is sent for the app until then.
    paused_until = models.DateTimeField(null=True, blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    # The fingerprint of an app token that could not be decrypted to sign a request (blank: none).
    # The app page shows the problem while the saved token is still that one.
    token_unreadable = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        verbose_name = "app sending state"
        indexes = [models.Index(fields=["due_at"], name="appsendingstate_due")]

    def __str__(self) -> str:
        return f"Sending state of app {self.app_id} (circuit {self.circuit})"


class StatusCount(models.Model):
    """How many of an app's deliveries created in one period, for one Event ID, are now in one status.

    Kept exact by every status transition (`delivery.outbox.state` through
    `delivery.history.rollups`), in the same transaction, so history is a sum of a bounded
    number of rows and outlives pruning.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    event_field = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Delivery.Status.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DeliveryRollup(StatusCount):
    """Per UTC hour of creation: the last 24 hours read these."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "hour", "event_field", "status"], name="one_rollup_per_key"),
        ]

    def __str__(self) -> str:
        return f"App {self.app_id} {self.hour:%Y-%m-%d %H}h field {self.event_field} {self.status}: {self.count}"


class DeliveryDayRollup(StatusCount):
    """Per UTC day of creation, so a month of stats is at most 30 x 5 x 6 rows however busy the app is."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "day", "event_field", "status"], name="one_day_rollup_per_key"),
        ]

    def __str__(self) -> str:
        return f"App {self.app_id} {self.day} field {self.event_field} {self.status}: {self.count}"


class RejectionRollup(models.Model):
    """How many events an app had rejected in one UTC hour for one reason, with a recent example."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    # A stable code for the reason, e.g. "timestamp" or "properties.level".
    reason = models.CharField(max_length=100)
    count = models.BigIntegerField(default=0)
    # The latest rejected event's errors and a masked copy of it.
    example = models.JSONField(default=dict, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "hour", "reason"], name="one_rejection_rollup_per_key"),
        ]

    def __str__(self) -> str:
        return f"App {self.app_id} {self.hour:%Y-%m-%d %H}h {self.reason}: {self.count}"


class AcceptedEventRollup(models.Model):
    """How many events an app had taken in (accepted or unmapped) in one UTC hour: beside `RejectionRollup`,
    the share rejected."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "hour"], name="one_accepted_event_rollup_per_key"),
        ]

    def __str__(self) -> str:
        return f"App {self.app_id} {self.hour:%Y-%m-%d %H}h accepted: {self.count}"


class MetricCounter(models.Model):
    """One Prometheus counter series, e.g. `cbtracker_attempts_total{outcome="delivered"}`.

    Added to in the same transaction as what it counts (`delivery.counters.counters_add`), so
    /metrics is exact across any number of web and worker processes on any number of hosts.
    """

    name = models.CharField(max_length=100)
    # The series' labels as Prometheus writes them, e.g. `outcome="delivered"`, or "".
    labels = models.CharField(max_length=200, blank=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="one_counter_per_series")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} {self.value}"
