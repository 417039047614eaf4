"""Re-encrypt every encrypted value with the newest key in FERNET_KEYS.

Rotation: set FERNET_KEYS=NEW,OLD, run this command, then drop OLD. Fingerprints of unique
credentials are recomputed with the newest key at the same time.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from fernet_fields.fields import EncryptedField

from channels.models import Credential
from channels.services import credential_fingerprints


class Command(BaseCommand):
    help = "Re-encrypt all credentials (and any encrypted field) with the newest FERNET_KEYS key."

    def handle(self, *args, **options):
        total = 0
        with transaction.atomic():
            for model in apps.get_models():
                fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedField)]
                if not fields:
                    continue
                count = model._default_manager.count()
                done = 0
                for pk in model._default_manager.values_list("pk", flat=True).iterator():
                    try:
                        obj = model._default_manager.only("pk", *fields).get(pk=pk)
                    except InvalidToken:
                        raise CommandError(
                            _(
                                "%(model)s #%(pk)s cannot be decrypted with any key in "
                                "FERNET_KEYS; add the key it was written with and run again. "
                                "Nothing was changed."
                            )
                            % {"model": model._meta.label, "pk": pk}
                        ) from None
                    updates = {name: getattr(obj, name) for name in fields}
                    if isinstance(obj, Credential):
                        updates["fingerprint"] = self._fingerprint(pk)
                    model._default_manager.filter(pk=pk).update(**updates)
                    done += 1
                    if done % 500 == 0 or done == count:
                        self.stdout.write(f"\r{model._meta.label}: {done}/{count}", ending="")
                if count:
                    self.stdout.write("")
                total += done
        self.stdout.write(
            self.style.SUCCESS(
                _("Re-encrypted %(total)s row(s) with the newest key.") % {"total": total}
            )
        )

    @staticmethod
    def _fingerprint(pk) -> str | None:
        credential = Credential.objects.select_related("channel").get(pk=pk)
        spec = {f.name: f for f in credential.channel.vendor.credential_fields}.get(credential.name)
        if spec is None or not spec.unique:
            return None
        return credential_fingerprints(
            connector=credential.connector, name=credential.name, value=credential.value
        )[0]
