from django.core.management.base import BaseCommand

from sync.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo company, catalog and one sandbox channel per category (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-host", default="127.0.0.1")

    def handle(self, *args, sandbox_host, **options):
        summary = load_demo(sandbox_host=sandbox_host)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {summary.company} with {summary.skus} SKUs and "
                f"{len(summary.channels)} sandbox channel(s): "
                + ", ".join(c.name for c in summary.channels)
            )
        )
