from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django_q.models import Schedule

from sync.services.schedules import PREFIX, schedules_reconcile_all


class Command(BaseCommand):
    help = (
        "Make the django-q2 schedules equal to the channels' settings: one per active channel "
        "and enabled flow; remove the rest. Safe to run any time."
    )

    def handle(self, *args, **options):
        counts = schedules_reconcile_all()
        in_place = Schedule.objects.filter(name__startswith=PREFIX).count()
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Schedules reconciled: %(created)s created, %(updated)s updated, "
                    "%(deleted)s deleted; %(in_place)s channel schedule(s) in place."
                )
                % {**counts, "in_place": in_place}
            )
        )
