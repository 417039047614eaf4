"""Support activates integrations from the channel page; to judge a channel it must also see
what that page shows: sync settings, de-para tables, bindings, the runs log and held orders.
View permissions only (changing de-para stays with the back office)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Support"
VIEW = {
    "channels": ["view_syncsetting"],
    "mappings": [
        "view_carrierservicemapping",
        "view_paymentmethodmapping",
        "view_orderstatusmapping",
        "view_stocklocationmapping",
        "view_unmappedvalue",
        "view_listing",
    ],
    "sync": ["view_syncrun", "view_heldorder"],
}


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    for label in VIEW:
        app_config = apps.get_app_config(label)
        # Historical app configs have no models module; create_permissions needs one set.
        app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, apps=apps, using=alias)
        finally:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(alias).get_or_create(name=GROUP_NAME)
    for label, codenames in VIEW.items():
        found = Permission.objects.using(alias).filter(
            content_type__app_label=label, codename__in=codenames
        )
        missing = set(codenames) - {p.codename for p in found}
        if missing:
            raise RuntimeError(f"Permissions not found: {', '.join(sorted(missing))}")
        group.permissions.add(*found)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).first()
    if group is None:
        return
    for label, codenames in VIEW.items():
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label=label, codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_initial"),
        ("channels", "0004_support_group"),
        ("mappings", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
