"""The log of research exports (its table keeps the name it had in the scoring app), and the
imports of past patients."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ExportLog(models.Model):
    """Every download of patient data: who, when, what and with which filter."""

    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    identified = models.BooleanField(verbose_name=_("identified"))
    file_format = models.CharField(verbose_name=_("file format"), max_length=8)
    filters = models.JSONField(verbose_name=_("filters"), encoder=DjangoJSONEncoder, default=dict)
    rows = models.PositiveIntegerField(verbose_name=_("rows"))

    class Meta:
        verbose_name = _("export log")
        verbose_name_plural = _("export logs")
        db_table = "scoring_exportlog"  # made by scoring's migration 0006, moved here without a copy
        ordering = ["-created_at"]

    def __str__(self) -> str:
        kind = "identified" if self.identified else "de-identified"
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.user} {kind} {self.file_format} ({self.rows} rows)"


class CohortImport(models.Model):
    """A table a clinician uploaded to bring past patients in (cohort/importing.py): the file, kept
    under var/imports/ (mode 600) until it is imported or discarded; its check (the preview) and
    its import, each run as background work with its progress."""

    class Status(models.TextChoices):
        CHECKING = "checking", pgettext_lazy("import status", "checking the file")
        CHECKED = "checked", pgettext_lazy("import status", "checked: ready to import")
        REFUSED = "refused", pgettext_lazy("import status", "has problems: nothing imported")
        IMPORTING = "importing", pgettext_lazy("import status", "importing")
        IMPORTED = "imported", pgettext_lazy("import status", "imported")
        FAILED = "failed", pgettext_lazy("import status", "stopped")
        DISCARDED = "discarded", pgettext_lazy("import status", "discarded")

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    # As uploaded: shown, and named in the records' history.
    filename = models.CharField(verbose_name=_("filename"), max_length=255)
    size_bytes = models.PositiveBigIntegerField(verbose_name=_("size bytes"))
    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64)
    status = models.CharField(verbose_name=_("status"), max_length=12, choices=Status.choices, default=Status.CHECKING)
    done_rows = models.PositiveIntegerField(verbose_name=_("done rows"), default=0)
    total_rows = models.PositiveIntegerField(verbose_name=_("total rows"), default=0)
    # The preview (importing.Report.as_dict).
    report = models.JSONField(verbose_name=_("report"), default=dict, blank=True)
    # The records it updates, with their versions.
    plan = models.JSONField(verbose_name=_("plan"), default=list, blank=True)
    result = models.JSONField(verbose_name=_("result"), default=dict, blank=True)  # what the import wrote
    message = models.TextField(verbose_name=_("message"), blank=True)  # why it stopped
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    imported_at = models.DateTimeField(verbose_name=_("imported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cohort import")
        verbose_name_plural = _("cohort imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("cohort:import_detail", args=[self.pk])

    @property
    def path(self) -> Path:
        return Path(settings.VAR_DIR) / "imports" / str(self.pk)

    @property
    def working(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)

    @property
    def percent(self) -> int:
        return 100 * self.done_rows // self.total_rows if self.total_rows else 0
