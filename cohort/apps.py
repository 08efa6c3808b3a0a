from django.apps import AppConfig


class CohortConfig(AppConfig):
    """The clinic's cohort: the data as a table, the paper's statistics on it, the research exports."""

    name = "cohort"
    verbose_name = "NASOVCF cohort review"
