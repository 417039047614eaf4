"""Store again the credentials a vendor issued that the database did not take.

A refresh of a single-use token (Mercado Livre) keeps the vendor's answer encrypted in
CREDENTIAL_RESCUE_DIR until it is committed (channels/rescue.py). When storing failed, the
worker logged CRITICAL naming the file; this command writes every such file back to its
channel (or only `--channel ID`) and removes it. A file older than the channel's stored
credentials is skipped (the database already holds something newer; `--force` writes it
anyway). Values are never printed.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max

from channels.models import SalesChannel
from channels.rescue import rescue_discard, rescue_files, rescue_read
from channels.services import channel_store_rotated_credentials


class Command(BaseCommand):
    help = "Restore vendor-issued credentials kept in CREDENTIAL_RESCUE_DIR after a failed store."

    def add_arguments(self, parser):
        parser.add_argument("--channel", type=int, help="only this channel's files")
        parser.add_argument(
            "--force",
            action="store_true",
            help="write a file even when the channel's stored credentials are newer",
        )

    def handle(self, *args, channel=None, force=False, **options):
        files = rescue_files()
        restored = skipped = 0
        problems = []
        for path in files:
            try:
                rescued = rescue_read(path)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if channel is not None and rescued.channel_id != channel:
                continue
            target = SalesChannel.objects.filter(pk=rescued.channel_id).first()
            if target is None or target.connector != rescued.connector:
                problems.append(f"{path.name}: channel {rescued.channel_id} no longer exists")
                continue
            newest = target.credentials.filter(name__in=rescued.values).aggregate(
                at=Max("updated_at")
            )["at"]
            if newest is not None and newest > rescued.at and not force:
                skipped += 1
                self.stdout.write(
                    f"{path.name}: channel {target.pk} stored newer credentials since; "
                    "skipped (--force writes it anyway)."
                )
                continue
            with transaction.atomic():
                channel_store_rotated_credentials(channel=target, values=rescued.values)
            rescue_discard(path)
            restored += 1
            names = ", ".join(sorted(rescued.values))
            self.stdout.write(f"{path.name}: restored {names} of channel {target.pk} “{target}”.")
        self.stdout.write(f"{restored} restored, {skipped} skipped, {len(problems)} unreadable.")
        if problems:
            raise CommandError("; ".join(problems))
