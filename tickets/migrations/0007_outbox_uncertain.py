"""Outbox rows a dead sender left mid-send become "uncertain"; supervisors may
resend them (the admin action needs the change permission)."""

from importlib import import_module

from django.db import migrations, models

email_roles = import_module("tickets.migrations.0006_email_roles")


def grant(apps, schema_editor):
    email_roles.grant_codes(apps, ["change_emailoutbox"])


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_email_roles")]

    operations = [
        migrations.AddField(
            model_name="emailoutbox",
            name="sending_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="emailoutbox",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("uncertain", "Uncertain"),
                ],
                default="queued",
                max_length=12,
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
