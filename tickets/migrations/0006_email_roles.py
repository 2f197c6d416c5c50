"""Supervisors see received mail (quarantine included) and the outbox."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODES = ["view_inboundemail", "view_emailoutbox"]


def grant(apps, schema_editor):
    grant_codes(apps, CODES)


def grant_codes(apps, codes):
    """Give supervisors and admins these permissions (later migrations too)."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="tickets", codename__in=codes
    )
    for name in ("supervisors", "admins"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*perms)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_email_intake")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
