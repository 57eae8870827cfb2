"""The database cache's table, so `migrate` (and the test database) has it.

Rate limits are counted in the cache, which is in the database when REDIS_URL is unset
(trackerui/settings.py). createcachetable skips tables that exist and caches that are not in
the database, so this is safe to run anywhere; `manage.py createcachetable` does the same
by hand for a deployment that moves from Redis to the database later.
"""

from django.core.management import call_command
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def cache_table_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies: list[tuple[str, str]] = []

    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]
