"""Root URLs. Every view needs a signed-in user (LoginRequiredMiddleware) except those marked
@login_not_required: sign-in, the language switch, the health check, the favicon, and the static
files whitenoise serves."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from nasovcf_site import accounts, i18n
from scoring import api
from scoring.views import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="scoring:patient_list", permanent=False), name="home"),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/keepalive/", health.keepalive, name="keepalive"),
    # The language switch (issue 16), and the JavaScript's strings in the page's language.
    path("i18n/language/", i18n.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", health.favicon, name="favicon"),
    path("api/score/", api.score, name="api_score"),
    path("api/odi/", api.odi, name="api_odi"),
    path("api/measure/", api.measure, name="api_measure"),
    path("admin/", admin.site.urls),
    path("", include("scoring.urls")),
    path("", include("cohort.urls")),
]

if settings.NASOVCF_BENCH_FLOOR:
    # Only when the benchmark serves the app (NASOVCF_BENCH_FLOOR=1): the framework's floor, a
    # signed-in page rendering base.html through the same middleware, with no query of ours.
    urlpatterns.append(path("bench/floor/", health.bench_floor, name="bench_floor"))

handler400 = "nasovcf_site.errors.bad_request"
handler403 = "nasovcf_site.errors.permission_denied"
handler404 = "nasovcf_site.errors.page_not_found"
handler500 = "nasovcf_site.errors.server_error"
