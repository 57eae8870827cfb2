"""Alert channels, the conditions seen on an app, and the alerts sent about them (docs/design.md, "Alerts").

An `Alert` is a delivery of our own: stored before it is sent, claimed with a lease by a
conditional UPDATE, retried with backoff, each try kept as an `AlertAttempt`. Only
`delivery/alerts/state.py` writes its status, schedule and lease.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from mappings.models import App
from trackerui.accounts.audit import AuditedRecords
from trackerui.accounts.models import Organization


class AlertChannel(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook (Standard Webhooks)"
        SLACK = "slack", "Slack incoming webhook"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_channels")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # An e-mail address, or the URL to post to.
    target = models.CharField(max_length=500)
    # A webhook's signing secret (`whsec_...`), encrypted with TOKEN_ENCRYPTION_KEY; shown once, at creation.
    secret = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    # The secret is never copied into the trail, not even encrypted.
    audit_trail = AuditedRecords(shown=("kind", "target"), excluded_fields=("secret",))

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target}"


class Condition(models.Model):
    """One episode of a condition on an app: from when it was first seen until it ended."""

    class Kind(models.TextChoices):
        CIRCUIT_OPEN = "circuit_open", "Circuit open"
        SUCCESS_RATE_LOW = "success_rate_low", "Success rate low"
        NEEDS_FIX = "needs_fix", "Needs a fix"
        REJECTIONS_HIGH = "rejections_high", "Many events rejected"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # The figures behind it when it was first seen.
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "kind"], condition=Q(ended_at__isnull=True),
                                    name="one_open_condition_per_app_and_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on app {self.app_id} since {self.started_at:%Y-%m-%d %H:%M:%S}"


class Alert(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    SENDABLE = (Status.PENDING, Status.RETRYING)
    # What an alert is about: one of the conditions, its end, or a test.
    RECOVERED = "recovered"
    TEST = "test"

    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="alerts")
    app = models.ForeignKey(App, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    condition = models.ForeignKey(Condition, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    # A condition's kind, `recovered` or `test`.
    kind = models.CharField(max_length=20)
    # What the alert says (see delivery/alerts/messages.py), fixed when it is created.
    message = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The channel's last answer, in words.
    answer = models.TextField(blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(next_attempt_at__isnull=False), name="alert_due"),
            models.Index(fields=["channel", "app", "kind", "created_at"], name="alert_repeat"),
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} {self.kind} ({self.status})"


class AlertAttempt(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # delivered, retry or failed
    outcome = models.CharField(max_length=10)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["alert_id", "number"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of alert {self.alert_id} ({self.outcome})"


class AlertSettings(models.Model):
    """An organization's alert thresholds."""

    organization = models.OneToOneField(Organization, primary_key=True, on_delete=models.CASCADE,
                                        related_name="alert_settings")
    # success_rate_low: below this percentage over the window.
    success_rate_threshold = models.PositiveSmallIntegerField(default=90)

    def __str__(self) -> str:
        return f"Alert settings of {self.organization}"
