from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts: channels per organization, and the alerts sent to them (docs/design.md, "Alerts")."""

    name = "delivery.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"
