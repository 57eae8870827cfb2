from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from delivery import schedules
        from delivery.outbox import dispatcher

        # The dispatcher keeps retries on time (delivery/outbox/dispatcher.py says what starts it);
        # its every-minute backstop and the daily prune are schedules (delivery/schedules.py).
        post_migrate.connect(schedules.schedules_install, sender=self)
        post_spawn.connect(dispatcher.dispatcher_ensure_at_worker_start, dispatch_uid="delivery-dispatcher")
        post_spawn.connect(dispatcher.dispatcher_watch_at_worker_start, dispatch_uid="delivery-dispatcher-watch")
