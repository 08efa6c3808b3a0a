from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("NASOVCF scoring")

    def ready(self):
        from nasovcf_site import i18n  # noqa: F401  (the user's language, put in the session at sign-in)

        from . import signals  # noqa: F401  (sign-in audit log)
