from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from sync.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo company, catalog and its sandbox sales channels (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-host", default="127.0.0.1")

    def handle(self, *args, sandbox_host, **options):
        summary = load_demo(sandbox_host=sandbox_host)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Demo ready: %(company)s with %(skus)d SKUs and these sandbox channels: "
                    "%(channels)s"
                )
                % {
                    "company": summary.company,
                    "skus": summary.skus,
                    "channels": ", ".join(c.name for c in summary.channels),
                }
            )
        )
