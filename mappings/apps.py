from django.apps import AppConfig


class MappingsConfig(AppConfig):
    name = "mappings"
    verbose_name = "Apps and mappings"

    def ready(self) -> None:
        from django.core import checks

        from mappings.checks import duplicate_chartboost_app_ids_check

        checks.register(duplicate_chartboost_app_ids_check)
