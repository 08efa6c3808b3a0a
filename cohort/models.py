"""The log of research exports. Its table keeps the name it had in the scoring app."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ExportLog(models.Model):
    """Every download of patient data: who, when, what and with which filter."""

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    identified = models.BooleanField()
    file_format = models.CharField(max_length=8)
    filters = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    rows = models.PositiveIntegerField()

    class Meta:
        db_table = "scoring_exportlog"  # made by scoring's migration 0006, moved here without a copy
        ordering = ["-created_at"]

    def __str__(self) -> str:
        kind = "identified" if self.identified else "de-identified"
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.user} {kind} {self.file_format} ({self.rows} rows)"
