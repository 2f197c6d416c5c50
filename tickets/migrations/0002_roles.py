"""Create the role groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "customers": [],
    "agents": [
        "tickets.view_ticket",
        "tickets.view_message",
        "tickets.add_message",
        "tickets.view_customer",
    ],
    "supervisors": [
        "tickets.view_ticket",
        "tickets.change_ticket",
        "tickets.view_message",
        "tickets.add_message",
        "tickets.view_customer",
        "tickets.change_customer",
        "tickets.view_customeridentity",
        "tickets.view_attachment",
        "tickets.view_ticketevent",
        "agents.view_agentprofile",
        "agents.change_agentprofile",
        "agents.add_agentprofile",
    ],
    "admins": ["*"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they
    # exist now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        if codes == ["*"]:
            group.permissions.set(Permission.objects.all())
            continue
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("agents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
