"""What the desk's management commands share."""

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated(database: str = DEFAULT_DB_ALIAS) -> None:
    """Fail with a clear message, not a missing-table traceback, when the
    database has migrations still to apply."""
    connection = connections[database]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CommandError(
            f"the database ({connection.settings_dict['NAME']}) has {len(plan)} "
            "migration(s) to apply: run `python manage.py migrate` first"
        )
