from django.apps import AppConfig


class ToolsConfig(AppConfig):
    """The benchmark and load-test commands (bench, bench_cohort, loadtest): no models, no URLs."""

    name = "tools"
    verbose_name = "NASOVCF benchmark and load-test tools"
