from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from delivery.history import retention
        from delivery.outbox import dispatcher

        # The dispatcher keeps retries on time; see delivery/outbox/dispatcher.py for what starts it.
        post_migrate.connect(dispatcher.dispatcher_schedule_install, sender=self)
        # The daily prune of old deliveries (delivery/history/retention.py).
        post_migrate.connect(retention.retention_schedule_install, sender=self)
        post_spawn.connect(dispatcher.dispatcher_ensure_at_worker_start, dispatch_uid="delivery-dispatcher")
