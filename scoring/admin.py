from django.contrib import admin
from django.db import transaction

from .models import Fracture, Patient, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical records are written through the app's forms only: one set of rules (MRN in
    capitals, dates checked, assessments rescored); the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ["mrn", "name", "sex", "date_of_birth", "updated_at"]
    search_fields = ["mrn", "name"]


@admin.register(Fracture)
class FractureAdmin(ReadOnlyAdmin):
    list_display = ["patient", "level", "assessment_date", "total_score", "risk_group", "rules_version"]
    list_filter = ["risk_group", "level", "treatment"]
    search_fields = ["patient__mrn", "patient__name"]
    list_select_related = ["patient"]


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ["fracture", "kind", "visit_date", "progressive_kyphosis", "bone_union"]
    list_filter = ["kind", "bone_union"]
    search_fields = ["fracture__patient__mrn"]
    list_select_related = ["fracture__patient"]

    # An admin's delete (audited by django-simple-history) changes the fracture's course too.
    def delete_model(self, request, obj):
        fracture = obj.fracture
        with transaction.atomic():
            super().delete_model(request, obj)
            fracture.update_outcomes()

    def delete_queryset(self, request, queryset):
        fractures = {visit.fracture for visit in queryset.select_related("fracture")}
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            for fracture in fractures:
                fracture.update_outcomes()
