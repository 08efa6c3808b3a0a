"""Recompute every fracture's expected visits, e.g. after NASOVCF_VISIT_WINDOW_DAYS or
NASOVCF_WORKLIST_OVERDUE_DAYS changed (the worklist reads the stored rows)."""

from django.core.management.base import BaseCommand

from scoring import services


class Command(BaseCommand):
    help = "Recompute the expected visits of every fracture from the current window settings."

    def handle(self, *args, **options):
        count = services.refresh_all_expected_visits()
        self.stdout.write(f"Expected visits recomputed for {count} fractures.")
