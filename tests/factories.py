"""factory-boy factories for every model the tests build."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

import factory
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import override_settings

from delivery.history.rollups import rollup_key, rollups_adjust
from delivery.models import AppSendingState, Attempt, Delivery, EventName, TrackedEvent
from delivery.outbox.state import _due_hint_lower
from mappings.fields import secret_reveal
from mappings.models import App, Mapping, Platform
from trackerui.accounts.models import Membership, Organization

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"studio-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Game {n}")
    platform = Platform.IOS
    chartboost_app_id = factory.Sequence(lambda n: f"{n:024x}")
    chartboost_app_token = factory.Sequence(lambda n: f"{n + 0xC0FFEE:064x}")


class MappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mapping

    app = factory.SubFactory(AppFactory)
    event_name = "level_up"
    event_field = 1
    main_level_property = "level"


class TrackedEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackedEvent

    app = factory.SubFactory(AppFactory)
    event_id = factory.Sequence(lambda n: f"evt-{n}")
    name = "level_up"
    timestamp = 1_700_000_000
    platform = "iOS 17.4"
    identifiers = factory.LazyAttribute(lambda e: {"ifa": e.device.upper()})
    device = factory.Sequence(lambda n: f"{n:032x}")
    properties = factory.LazyFunction(lambda: {"level": 3})


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    event = factory.SubFactory(TrackedEventFactory)
    app = factory.SelfAttribute("event.app")
    mapping = None
    event_field = 1
    device = factory.SelfAttribute("event.device")
    item = factory.LazyAttribute(
        lambda d: {
            "event_label": d.event.name,
            "event_field": d.event_field,
            "main_level": 3,
            "sub_level": 0,
            "description": d.event.name,
            "data_type": "level_info",
        }
    )
    status = Delivery.Status.PENDING

    @classmethod
    def _create(cls, model_class: type[Delivery], *args: Any, **kwargs: Any) -> Delivery:
        """Written directly, as tests may, but counted and hinted as `delivery.outbox.state` would,
        so history and the dispatcher see factory rows like any other. A delivered one with a
        `last_attempt_at` also moves its app's last delivery on, as a recorded answer does."""
        delivery = super()._create(model_class, *args, **kwargs)
        rollups_adjust(Counter({rollup_key(delivery.app_id, delivery.created_at, delivery.event_field,
                                           delivery.status): 1}))
        if delivery.next_attempt_at is not None:
            _due_hint_lower({delivery.app_id: delivery.next_attempt_at})
        if delivery.status == Delivery.Status.DELIVERED and delivery.last_attempt_at is not None:
            _last_delivered_note(delivery.app_id, delivery.last_attempt_at)
        return delivery


def _last_delivered_note(app_id: int, when: datetime) -> None:
    AppSendingState.objects.bulk_create([AppSendingState(app_id=app_id)], ignore_conflicts=True)
    AppSendingState.objects.filter(app_id=app_id).filter(
        Q(last_delivered_at__isnull=True) | Q(last_delivered_at__lt=when)
    ).update(last_delivered_at=when)


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    delivery = factory.SubFactory(DeliveryFactory)
    number = factory.Sequence(lambda n: n + 1)
    endpoint = "https://live.chartboost.com/event_service/v2/level"
    request_headers = factory.LazyFunction(lambda: {"Content-Type": "application/json", "X-Chartboost-App": "…"})
    request_body = factory.LazyFunction(lambda: {"token": "…c83190815"})
    http_status = 200
    response_status = 400
    response_message = "Invalid signature"
    outcome = "failed"


class EventPayloadFactory(factory.DictFactory):
    """An event as a customer sends it to POST /api/v1/apps/{id}/events/, for an iOS app.

    For Android or Amazon apps, pass `identifiers={"gaid": ...}` or `{"uuid": ...}`.
    """

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    name = "level_up"
    timestamp = factory.LazyFunction(lambda: int(time.time()) - 60)
    platform = "iOS 17.4"
    identifiers = factory.LazyFunction(lambda: {"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"})
    properties = factory.LazyFunction(lambda: {"level": 3})


class EventNameFactory(factory.django.DjangoModelFactory):
    """An event name an app has sent (what the dashboard offers as a mapping candidate)."""

    class Meta:
        model = EventName

    app = factory.SubFactory(AppFactory)
    name = factory.Sequence(lambda n: f"event_{n}")
    count = 1
    example_properties = factory.LazyFunction(dict)


def saved_token(app: App) -> str:
    """The app's token as saved, decrypted: what the next signed request will carry."""
    return secret_reveal(App.objects.get(pk=app.pk).chartboost_app_token)


def app_saved_with_another_key(key: str | None = None, **fields: Any) -> App:
    """An app whose token was encrypted with a key TOKEN_ENCRYPTION_KEY no longer holds (rotated away)."""
    with override_settings(TOKEN_ENCRYPTION_KEYS=[key or Fernet.generate_key().decode()]):
        app = AppFactory(**fields)
    # As the server would load it, sealed; the factory's in-memory copy still holds the plaintext.
    return App.objects.get(pk=app.pk)
