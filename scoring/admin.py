from django.contrib import admin

from .models import Fracture, Patient


class TrackedAdmin(admin.ModelAdmin):
    """Admin edits are attributed like the app's own."""

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Patient)
class PatientAdmin(TrackedAdmin):
    list_display = ["mrn", "name", "sex", "date_of_birth", "updated_at"]
    search_fields = ["mrn", "name"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]


@admin.register(Fracture)
class FractureAdmin(admin.ModelAdmin):
    """Read-only here: assessments are scored through the app's form, the one scoring path."""

    list_display = ["patient", "level", "assessment_date", "total_score", "risk_group", "rules_version"]
    list_filter = ["risk_group", "level", "treatment"]
    search_fields = ["patient__mrn", "patient__name"]
    list_select_related = ["patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
