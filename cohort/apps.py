from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CohortConfig(AppConfig):
    """The clinic's cohort: the data as a table, the paper's statistics on it, the research exports."""

    name = "cohort"
    verbose_name = _("NASOVCF cohort review")
