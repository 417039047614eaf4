"""The "Support" group: the people who switch integrations on and off (issue: activation).

Permissions are normally created after all migrations ran (post_migrate), so on a fresh
database they do not exist yet here: create them first, from the historical models.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Support"
PERMISSIONS = [
    "activate_integration",
    "change_credentials",
    "view_saleschannel",
    "change_saleschannel",
    "view_activationrecord",  # the audit trail of what support switched on and off
]


def create_support_group(apps, schema_editor):
    app_config = apps.get_app_config("channels")
    # Historical app configs have no models module, which create_permissions takes for "no
    # models here"; set it for the call only.
    app_config.models_module = True
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="channels", codename__in=PERMISSIONS
    )
    missing = set(PERMISSIONS) - {p.codename for p in permissions}
    if missing:
        raise RuntimeError(f"Permissions not found: {', '.join(sorted(missing))}")
    group.permissions.add(*permissions)


def remove_support_group(apps, schema_editor):
    # The group may hold people and extra permissions added since; keep it, drop only ours.
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="channels", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_activation_record"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_support_group, remove_support_group)]
