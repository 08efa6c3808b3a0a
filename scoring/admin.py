from axes.admin import AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import selectors, services
from .models import Fracture, Patient, Visit
from .roles import ROLES

# The deleted-records pages' words for each kind, as whole sentences (the models' own names are
# Django's, untranslated: naming them in the models' Meta would need a migration).
DELETED_TITLES = {
    Patient: _("Deleted patients"),
    Fracture: _("Deleted fractures"),
    Visit: _("Deleted visits"),
}
DELETED_KINDS = {Patient: _("Patient"), Fracture: _("Fracture"), Visit: _("Visit")}
DELETED_INTROS = {
    Patient: _(
        "Every patient deleted here, the latest first. Nothing is lost: each one's history page shows its last "
        "version and every change before it."
    ),
    Fracture: _(
        "Every fracture deleted here, the latest first. Nothing is lost: each one's history page shows its last "
        "version and every change before it."
    ),
    Visit: _(
        "Every visit deleted here, the latest first. Nothing is lost: each one's history page shows its last "
        "version and every change before it."
    ),
}
DELETED_NONE = {
    Patient: _("No patient has been deleted."),
    Fracture: _("No fracture has been deleted."),
    Visit: _("No visit has been deleted."),
}


def _deleted_count(model, count: int) -> str:
    if model is Patient:
        text = ngettext("%(count)s deleted patient", "%(count)s deleted patients", count)
    elif model is Fracture:
        text = ngettext("%(count)s deleted fracture", "%(count)s deleted fractures", count)
    else:
        text = ngettext("%(count)s deleted visit", "%(count)s deleted visits", count)
    return text % {"count": count}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical records are written through the app's forms only: one set of rules (MRN in
    capitals, dates checked, assessments rescored); the admin shows them, deletes them (admins
    only, in the history) and lists those deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # -- the records of this kind deleted here: a page of the admin, as only admins delete ---------

    def has_view_deleted_permission(self, request) -> bool:
        """Deleted records are read from their history: the admin role and superusers may."""
        return request.user.has_perm(f"{self.opts.app_label}.view_historical{self.opts.model_name}")

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_deleted"
        return [path("deleted/", self.admin_site.admin_view(self.deleted_view), name=name), *super().get_urls()]

    def deleted_view(self, request):
        """Each record of this kind deleted in the admin: what it was, when, by whom, its history."""
        if not self.has_view_deleted_permission(request):
            raise PermissionDenied
        page = selectors.deleted_records_page(self.model, request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": DELETED_TITLES[self.model],
            "kind": DELETED_KINDS[self.model],
            "intro": DELETED_INTROS[self.model],
            "none_deleted": DELETED_NONE[self.model],
            "deleted_count": _deleted_count(self.model, page.paginator.count),
            "page": page,
        }
        return TemplateResponse(request, "admin/scoring/deleted_records.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "deleted_link": self.has_view_deleted_permission(request),
            "deleted_title": DELETED_TITLES[self.model],
        }
        return super().changelist_view(request, extra_context)


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
# Admins (the "admin" role, with staff status) manage the clinic's staff, and no one grants themselves
# more: a user who is not a superuser
#   - never changes their own account's roles or flags (groups, active, staff, superuser, permissions),
#   - hands out only the clinician and viewer roles, never the admin role, staff status, superuser
#     status or single permissions,
#   - cannot change or delete another admin's account (a superuser, a staff account or one in the
#     admin group): otherwise a second admin account, made or taken over, could raise the first.
# Only a superuser (the first account, `ensure_admin`) makes admins. Enforced on the server: the
# fields are read-only (left out of the form, so a crafted POST cannot set them) and the group
# choices are limited, so a crafted group id is refused as an invalid choice.

MANAGED_ROLES = ["clinician", "viewer"]  # what an admin who is not a superuser may hand out
SUPERUSER_ONLY_FIELDS = ["is_staff", "is_superuser", "user_permissions"]
OWN_ACCOUNT_FIELDS = ["groups", "is_active", *SUPERUSER_ONLY_FIELDS]


def _is_admin_account(user) -> bool:
    return user.is_superuser or user.is_staff or user.groups.filter(name="admin").exists()


class ClinicUserAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            own_account = obj is not None and obj.pk == request.user.pk
            locked = OWN_ACCOUNT_FIELDS if own_account else SUPERUSER_ONLY_FIELDS
            fields += [name for name in locked if name not in fields]
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            roles = ROLES if request.user.is_superuser else MANAGED_ROLES
            kwargs["queryset"] = Group.objects.filter(name__in=roles)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _manages(self, request, obj, *, own_account_too: bool) -> bool:
        """Whether the user may act on `obj`: a superuser on anyone; anyone else not on another
        admin's account (their own: only where `own_account_too`)."""
        if obj is None or request.user.is_superuser:
            return True
        if obj.pk == request.user.pk:
            return own_account_too
        return not _is_admin_account(obj)

    def has_change_permission(self, request, obj=None):
        return self._manages(request, obj, own_account_too=True) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._manages(request, obj, own_account_too=False) and super().has_delete_permission(request, obj)


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
