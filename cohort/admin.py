from django.contrib import admin

from scoring.admin import SignInRecordAdmin

from .models import ExportLog


@admin.register(ExportLog)
class ExportLogAdmin(SignInRecordAdmin, admin.ModelAdmin):
    """Who exported what: read-only, like the sign-in records."""

    list_display = ["created_at", "user", "identified", "file_format", "rows", "filters"]
    list_filter = ["identified", "file_format"]
