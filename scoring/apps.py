from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "NASOVCF scoring"

    def ready(self):
        from . import signals  # noqa: F401  (sign-in audit log)
