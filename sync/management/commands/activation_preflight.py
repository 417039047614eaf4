"""Run an activation's preflight checks from the shell (large catalogs: shows progress).

The run is stored like the confirmation page's, so support can confirm it on the page
afterwards: the way for a store too large for the worker's task timeout."""

from django.core.management.base import BaseCommand, CommandError

from channels.models import SalesChannel
from sync.activation.runs import PreflightResult, preflight_run_now
from sync.models import PreflightRun, PreflightState

PROGRESS_EVERY = 1000


class Command(BaseCommand):
    help = (
        "Run the activation preflight of a sales channel and print each check. Stores the "
        "result for the confirmation page (valid ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES); --csv "
        "saves the unmatched listings and absent ERP SKUs."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel_id", type=int)
        parser.add_argument(
            "--confirmation",
            default="",
            help="Support's confirmation about the previous ERP, where the vendor tells nothing "
            "(shown as it would apply; the page asks for it again when confirming).",
        )
        parser.add_argument("--csv", dest="csv_path", help="Write the CSV report to this file.")

    def handle(self, *args, channel_id, confirmation, csv_path, **options):
        channel = SalesChannel.objects.select_related("company").filter(pk=channel_id).first()
        if channel is None:
            raise CommandError(f"No sales channel with id {channel_id}.")
        self.stdout.write(f"Preflight of “{channel}” ({channel.get_connector_display()})…")

        def progress(fetched: int) -> None:
            if fetched % PROGRESS_EVERY == 0:
                self.stdout.write(f"  fetched {fetched} listings…")

        run = preflight_run_now(channel=channel, progress=progress)
        if run.state == PreflightState.FAILED:
            raise CommandError(run.error)
        report = PreflightResult.of(run).confirmed(
            label=channel.vendor.label, confirmation=confirmation
        )
        if report.has_report:
            self.stdout.write(f"  fetched {report.summary['fetched']} listings in all.")
        for check in report.checks:
            style = {"pass": self.style.SUCCESS, "warn": self.style.WARNING}.get(
                check.status, self.style.ERROR
            )
            self.stdout.write(style(f"[{check.status.upper():5}] {check.title}: {check.message}"))
            for line in check.details:
                self.stdout.write(f"        {line}")
        if csv_path and report.has_report:
            text = PreflightRun.objects.values_list("report_csv", flat=True).get(pk=run.pk)
            with open(csv_path, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            self.stdout.write(f"CSV report written to {csv_path}.")
        verdict = (
            "activation possible"
            if report.can_activate
            else "activation blocked"
            + (" (needs the typed confirmation)" if report.needs_confirmation else "")
        )
        self.stdout.write(verdict)
        self.stdout.write(f"Stored as preflight #{run.pk}: confirm it on the activation page.")
