"""Support sees held orders (0002); quarantined orders stand beside them on the channel page, so
Support may see those too. The list is read-only; its "Fetch again from the vendor" action asks
for channels.change_saleschannel, as reprocessing held orders does."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Support"
CODENAMES = ["view_quarantinedorder"]


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("sync")
    # Historical app configs have no models module; create_permissions needs one set.
    app_config.models_module = True
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=alias)
    finally:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(alias).get_or_create(name=GROUP_NAME)
    found = Permission.objects.using(alias).filter(
        content_type__app_label="sync", codename__in=CODENAMES
    )
    if found.count() != len(CODENAMES):
        raise RuntimeError(f"Permissions not found: {', '.join(CODENAMES)}")
    group.permissions.add(*found)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="sync", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("sync", "0004_quarantined_orders")]

    operations = [migrations.RunPython(grant, revoke)]
