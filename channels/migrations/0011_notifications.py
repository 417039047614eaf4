"""Per-channel notification URL token and hook secret; the event-run guard per flow.

Existing channels get their own token and secret (a callable default is evaluated once for all
existing rows, so they are filled row by row before the unique constraint)."""

import fernet_fields.fields
from django.db import migrations, models

import channels.models


def fill(apps, schema_editor):
    SalesChannel = apps.get_model("channels", "SalesChannel")
    for channel in SalesChannel.objects.all().only("pk"):
        SalesChannel.objects.filter(pk=channel.pk).update(
            notification_token=channels.models.new_notification_token(),
        )
        # The encrypted field needs the model's save path to encrypt.
        channel.notification_secret = channels.models.new_notification_secret()
        channel.save(update_fields=["notification_secret"])


class Migration(migrations.Migration):
    # PostgreSQL refuses the AlterField (unique) in the transaction that filled the rows
    # ("pending trigger events"): each operation commits on its own.
    atomic = False
    dependencies = [("channels", "0010_fulfilment_flow")]

    operations = [
        migrations.AddField(
            model_name="saleschannel",
            name="notification_token",
            field=models.CharField(
                editable=False, max_length=64, null=True, verbose_name="notification token"
            ),
        ),
        migrations.AddField(
            model_name="saleschannel",
            name="notification_secret",
            field=fernet_fields.fields.EncryptedTextField(
                default=channels.models.new_notification_secret,
                editable=False,
                verbose_name="notification secret",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="saleschannel",
            name="notification_token",
            field=models.CharField(
                default=channels.models.new_notification_token,
                editable=False,
                max_length=64,
                unique=True,
                verbose_name="notification token",
            ),
        ),
        migrations.AddField(
            model_name="syncsetting",
            name="event_run_due_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
