from axes.admin import AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction

from . import services
from .models import Fracture, Patient, Visit
from .roles import ROLES


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
            services.refresh_course(fracture)

    def delete_queryset(self, request, queryset):
        fractures = {visit.fracture for visit in queryset.select_related("fracture")}
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            for fracture in fractures:
                services.refresh_course(fracture)


# -- users and the sign-in records ------------------------------------------------------------------
# Admins (the "admin" role) manage users, but cannot raise their own powers: only a superuser may
# grant superuser status or single permissions; everyone else hands out the three roles.


class ClinicUserAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions"]
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # A superuser's account is changed by a superuser only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


class SignInRecordAdmin:
    """The sign-in records are an audit log: readable, never changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAccessLogAdmin(SignInRecordAdmin, AccessLogAdmin):
    pass


class ReadOnlyAccessFailureLogAdmin(SignInRecordAdmin, AccessFailureLogAdmin):
    pass


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)
for model, model_admin in ((AccessLog, ReadOnlyAccessLogAdmin), (AccessFailureLog, ReadOnlyAccessFailureLogAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
