"""Migrations keep working on a database created before the vendor layer moved.

The `connector` field's choices callable moved (sync.connectors.registry → vendors.registry);
a database created at that point must migrate forward with its rows intact, and the models must
need no migration that is not in the tree."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The leaf migrations of every app before the vendor layer moved to vendors/ (main at 677dc7b).
BEFORE_VENDOR_LAYER = [
    ("erp", "0001_initial"),
    ("channels", "0004_support_group"),
    ("mappings", "0002_listing_channel_indexes"),
    ("sync", "0002_support_can_see_the_integration"),
]


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_vendor_layer_migrates_forward_with_its_rows():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_VENDOR_LAYER)
    old = executor.loader.project_state(BEFORE_VENDOR_LAYER).apps
    company = old.get_model("erp", "Company").objects.create(
        legal_name="Loja Antiga", cnpj="11222333000181"
    )
    channel = old.get_model("channels", "SalesChannel").objects.create(
        name="ML antigo", connector="mercadolivre", category="marketplace", company=company
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from channels.models import SalesChannel

    migrated = SalesChannel.objects.get(pk=channel.pk)
    assert migrated.connector == "mercadolivre"
    assert migrated.vendor.label == "Mercado Livre"
    assert migrated.get_connector_display() == "Mercado Livre"
    # Channels from before vendor notifications got their own URL token and hook secret.
    assert len(migrated.notification_token) >= 43
    assert len(migrated.notification_secret) >= 43


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
