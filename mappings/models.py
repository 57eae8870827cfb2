"""Apps (one game on one platform) and their mappings to Chartboost Event IDs.

Every rule of docs/design.md, "Domain rules" for these objects lives here, as field validators, `clean()`
and database constraints, so the dashboard, the API and the admin enforce the same
rules by calling `full_clean()` (see `mappings.services`).
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mappings.event_fields import EVENT_FIELD_CHOICES, EVENT_FIELDS, NON_SEQUENTIAL_FIELDS, SEQUENTIAL_FIELDS
from mappings.fields import EncryptedTextField, SecretHintField, UnlessSealed
from trackerui.accounts.audit import AuditedRecords
from trackerui.accounts.models import Organization, SecretKey
from trackerui.foundation.validators import validate_no_control_characters

# Integers are stored in IntegerField columns: 32-bit on PostgreSQL. SQLite would store
# more, so the bound is a validator of its own, the same on every backend.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT32_MESSAGE = f"Must be a whole number from {INT32_MIN} to {INT32_MAX} (got %(show_value)s)."
int32_validators = [MinValueValidator(INT32_MIN, INT32_MESSAGE), MaxValueValidator(INT32_MAX, INT32_MESSAGE)]


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    AMAZON = "amazon", "Amazon"


validate_chartboost_app_id = RegexValidator(
    r"^[0-9a-fA-F]{24}\Z",
    "A Chartboost app ID is 24 hexadecimal characters, e.g. 4f7aa26ef77659d869000003.",
)
validate_chartboost_app_token = RegexValidator(
    r"^[0-9a-fA-F]{64}\Z",
    "A Chartboost app token is 64 hexadecimal characters (0-9, a-f). "
    "Find it in the Chartboost dashboard or ask Chartboost support.",
)


# What a mapping's writers may set (mappings.services), and what its audit trail shows.
MAPPING_FIELDS = ("event_name", "event_field", "event_label", "main_level_property",
                  "main_level_value", "sub_level_property", "sub_level_value",
                  "description_property", "description", "active")
MAPPING_TEXT_FIELDS = ("event_name", "event_label", "main_level_property", "sub_level_property",
                       "description_property", "description")


def strip_text(instance: models.Model, fields: tuple[str, ...]) -> None:
    """Strip leading and trailing whitespace from text fields; what is left empty is blank (missing).

    In `clean_fields`, so names and labels are stripped wherever they come from: the forms
    strip already, but the API, the admin and the shell reach the model too.
    """
    for field in fields:
        value = getattr(instance, field)
        if isinstance(value, str):
            setattr(instance, field, value.strip())


class App(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="apps")
    name = models.CharField(max_length=100, validators=[validate_no_control_characters])
    platform = models.CharField(
        max_length=10,
        choices=Platform.choices,
        error_messages={
            "invalid_choice": "Platform must be ios, android or amazon (got %(value)r).",
        },
    )
    chartboost_app_id = models.CharField(
        "Chartboost app ID", max_length=24, validators=[validate_chartboost_app_id]
    )
    # Encrypted at rest and read back sealed: only signing a request decrypts it (mappings/fields.py).
    chartboost_app_token = EncryptedTextField(
        "Chartboost app token", validators=[UnlessSealed(validate_chartboost_app_token)]
    )
    # What pages, the API and the admin show instead of the token, written whenever a new one is saved.
    chartboost_app_token_hint = SecretHintField(secret_field="chartboost_app_token")
    delivery_enabled = models.BooleanField(
        default=True,
        help_text="When off, new deliveries wait as pending and go out once it is back on.",
    )
    s2s_confirmed = models.BooleanField(
        "S2S confirmed by Chartboost",
        default=False,
        help_text="Chartboost ignores server-to-server events until its support switches "
        "the app from SDK to S2S. Tick this once they have.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the app is deleted: it is archived, not removed, so its history stays readable.
    archived_at = models.DateTimeField(null=True, blank=True)

    # The token is a secret: the audit trail keeps its hint, never the token, not even encrypted.
    # `updated_at` is when the row was saved, which every history row says already.
    audit_trail = AuditedRecords(
        shown=("name", "platform", "chartboost_app_id", "chartboost_app_token_hint", "delivery_enabled",
               "s2s_confirmed", "archived_at"),
        # The hint is a column of its own (mappings/fields.py), copied as `derived` so the trail's own
        # column stays as it was.
        excluded_fields=("chartboost_app_token", "chartboost_app_token_hint", "updated_at"),
        derived={"chartboost_app_token_hint": models.CharField(max_length=16, blank=True)},
        archived_by="archived_at",
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__in=Platform.values), name="app_platform_known"
            ),
        ]

    def __str__(self) -> str:
        # Studios often name an app after its platform already ("Puzzle Quest (iOS)"): say it once.
        platform = self.get_platform_display()
        return self.name if platform.lower() in self.name.lower() else f"{self.name} ({platform})"

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        strip_text(self, ("name", "chartboost_app_id", "chartboost_app_token"))
        super().clean_fields(exclude)

    def clean(self) -> None:
        if self.chartboost_app_id:
            # Chartboost ids are lowercase hex; store them that way so lookups match.
            self.chartboost_app_id = self.chartboost_app_id.lower()
        if isinstance(self.chartboost_app_token, str):
            # A newly assigned token; a saved one is sealed and was lowercased when it was assigned.
            self.chartboost_app_token = self.chartboost_app_token.lower()
        taken = self._live_app_with_same_chartboost_app_id()
        if taken is not None:
            raise ValidationError({"chartboost_app_id": (
                f"Chartboost app ID {self.chartboost_app_id} is already used by app “{taken.name}” in this "
                "organization. Each game on each platform has its own app ID in Chartboost: check that you "
                "copied the right one."
            )})

    def _live_app_with_same_chartboost_app_id(self) -> App | None:
        """Another live app of the organization with this app's Chartboost app ID, when it is new or changed.

        Only a new or changed ID is checked: two apps that already share one are flagged
        (`mappings.checks` and the app page) and may still be edited until someone fixes the ID.
        No database constraint backs this, as it would refuse those existing duplicates.
        """
        if not (self.chartboost_app_id and self.organization_id) or self.archived_at is not None:
            return None
        if self.pk is not None:
            saved = App.objects.filter(pk=self.pk).values_list("chartboost_app_id", flat=True).first()
            if saved == self.chartboost_app_id:
                return None
        return apps_with_chartboost_app_id(self.organization_id, self.chartboost_app_id).exclude(pk=self.pk).first()


def apps_with_chartboost_app_id(organization_id: int, chartboost_app_id: str) -> models.QuerySet[App]:
    """The organization's live apps with this Chartboost app ID, oldest first: the one query behind "this
    organization already has this Chartboost app ID", for `App.clean`, `mappings.checks`, the app page
    (`mappings.selectors.apps_sharing_chartboost_app_id`) and the apps' problems."""
    return App.objects.filter(same_chartboost_app_id(organization_id, chartboost_app_id)).order_by("pk")


def same_chartboost_app_id(organization_id: int, chartboost_app_id: str) -> Q:
    """The condition of `apps_with_chartboost_app_id`, to combine several apps' in one query."""
    return Q(organization_id=organization_id, chartboost_app_id=chartboost_app_id, archived_at__isnull=True)


class Mapping(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="mappings")
    event_name = models.CharField(
        max_length=255, help_text="The tracked event's name, matched exactly.",
        validators=[validate_no_control_characters],
    )
    event_field = models.PositiveSmallIntegerField(
        "Event ID",
        choices=EVENT_FIELD_CHOICES,
        error_messages={"invalid_choice": "Event ID must be 1, 2, 3, 4 or 5 (got %(value)r)."},
    )
    # Blank means "the event name": the label follows the name until it is overridden.
    event_label = models.CharField(max_length=255, blank=True, validators=[validate_no_control_characters])
    main_level_property = models.CharField(max_length=255, blank=True, validators=[validate_no_control_characters])
    main_level_value = models.IntegerField(default=1, validators=int32_validators)
    sub_level_property = models.CharField(max_length=255, blank=True, validators=[validate_no_control_characters])
    sub_level_value = models.IntegerField(
        default=0,
        validators=[MinValueValidator(0, "sub_level must be 0 or more (got %(show_value)s)."),
                    MaxValueValidator(INT32_MAX, INT32_MESSAGE)],
    )
    description_property = models.CharField(max_length=255, blank=True, validators=[validate_no_control_characters])
    description = models.CharField(max_length=255, blank=True, validators=[validate_no_control_characters])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    audit_trail = AuditedRecords(shown=MAPPING_FIELDS, excluded_fields=("updated_at",))

    class Meta:
        ordering = ["event_field"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "event_field"],
                name="one_mapping_per_event_field",
                violation_error_message="This Event ID is already mapped in this app.",
            ),
            models.CheckConstraint(
                condition=Q(event_field__gte=1, event_field__lte=5), name="event_field_1_to_5"
            ),
            models.CheckConstraint(
                condition=~Q(main_level_value=0), name="main_level_value_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(sub_level_value__gte=0), name="sub_level_value_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(event_field__in=sorted(NON_SEQUENTIAL_FIELDS))
                | Q(main_level_property="", sub_level_property="", main_level_value=1,
                    sub_level_value=0),
                name="non_sequential_fields_send_1_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} → Event ID {self.event_field}"

    @property
    def label(self) -> str:
        """The `event_label` sent to Chartboost."""
        return self.event_label or self.event_name

    @property
    def label_is_overridden(self) -> bool:
        return bool(self.event_label) and self.event_label != self.event_name

    @property
    def is_sequential(self) -> bool:
        return self.event_field in SEQUENTIAL_FIELDS

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        strip_text(self, MAPPING_TEXT_FIELDS)
        super().clean_fields(exclude)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.main_level_value == 0:
            errors["main_level_value"] = (
                "main_level must be a non-zero integer: Chartboost rejects 0. "
                "Use 1 when the event has no number."
            )
        if self.event_field in NON_SEQUENTIAL_FIELDS:
            why = (
                f"Event ID {self.event_field} is not sequential: Chartboost always gets "
                "main_level 1 and sub_level 0 for it"
            )
            if self.main_level_property:
                errors["main_level_property"] = f"{why}, so it cannot read a level property."
            if self.sub_level_property:
                errors["sub_level_property"] = f"{why}, so it cannot read a level property."
            if self.main_level_value not in (1, None) and "main_level_value" not in errors:
                errors["main_level_value"] = f"{why}; leave main_level at 1."
            if self.sub_level_value not in (0, None):
                errors["sub_level_value"] = f"{why}; leave sub_level at 0."
        if self.app_id and self.event_field in EVENT_FIELDS:
            taken = (
                Mapping.objects.filter(app_id=self.app_id, event_field=self.event_field)
                .exclude(pk=self.pk)
                .first()
            )
            if taken is not None:
                errors["event_field"] = (
                    f"Event ID {self.event_field} is already mapped to “{taken.event_name}” in "
                    "this app. Chartboost needs each Event ID tied to one type of data: edit "
                    "that mapping or pick another Event ID."
                )
        if errors:
            raise ValidationError(errors)


WRITE_KEY_PREFIX = "cbw"


class WriteKey(SecretKey, models.Model):  # noqa: DJ008 (its __str__ is SecretKey's, in another module)
    """A key that may only send events, and only to its one app: what Segment and RudderStack call a write key.

    Sent as HTTP Basic's user name (or `writeKey` in the body) to `/v1/track` and `/v1/batch`
    (delivery/api_segment.py). Shown once, stored as its hash, like an API key
    (trackerui/accounts/models.py); owners alone create and revoke them (trackerui/accounts/roles.py).
    """

    key_kind = WRITE_KEY_PREFIX
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="write_keys")
    name = models.CharField(max_length=100, blank=True, validators=[validate_no_control_characters])
    # The public part, shown in lists to tell keys apart: "cbw_ab12cd34".
    prefix = models.CharField(max_length=20, unique=True, validators=[RegexValidator(r"^cbw_[0-9a-f]{8}$")])
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # As for API keys: never the hash, and `last_used_at` says the key was used, not changed.
    audit_trail = AuditedRecords(shown=("name", "prefix", "revoked_at"), excluded_fields=("key_hash", "last_used_at"))

    class Meta:
        ordering = ["-created_at", "-id"]

