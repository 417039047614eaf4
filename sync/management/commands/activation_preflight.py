"""Run an activation's preflight checks from the shell (large catalogs: shows progress).

The run is stored like the confirmation page's, so support can confirm it on the page
afterwards: the way for a store too large for the worker's task timeout."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

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
            raise CommandError(_("No sales channel with id %(id)s.") % {"id": channel_id})
        self.stdout.write(
            _("Preflight of “%(channel)s” (%(vendor)s)…")
            % {"channel": channel, "vendor": channel.get_connector_display()}
        )

        def progress(fetched: int) -> None:
            if fetched % PROGRESS_EVERY == 0:
                self.stdout.write("  " + _("fetched %(count)s listings…") % {"count": fetched})

        run = preflight_run_now(channel=channel, progress=progress)
        if run.state == PreflightState.FAILED:
            raise CommandError(run.error)
        report = PreflightResult.of(run).confirmed(
            label=channel.vendor.label, confirmation=confirmation
        )
        if report.has_report:
            self.stdout.write(
                "  "
                + _("fetched %(count)s listings in all.") % {"count": report.summary["fetched"]}
            )
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
            self.stdout.write(_("CSV report written to %(path)s.") % {"path": csv_path})
        if report.can_activate:
            verdict = _("activation possible")
        elif report.needs_confirmation:
            verdict = _("activation blocked (needs the typed confirmation)")
        else:
            verdict = _("activation blocked")
        self.stdout.write(verdict)
        self.stdout.write(
            _("Stored as preflight #%(number)s: confirm it on the activation page.")
            % {"number": run.pk}
        )
