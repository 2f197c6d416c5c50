"""The index dispatch walks to pick an agent (agents.capacity.candidates).

PostgreSQL only: SQLite cannot create an index with NULLS FIRST, and the
embedded desk's few agents need none.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS agent_fairness ON agents_agentprofile"
    " (status, last_offer_at ASC NULLS FIRST, rating DESC, user_id)"
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS agent_fairness")


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_agentevent_agenteventlog_earning_offerdecline_and_more")]

    operations = [migrations.RunPython(create, drop)]
