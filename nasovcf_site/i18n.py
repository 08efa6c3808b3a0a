"""The app's languages (issue 16): English and Simplified Chinese.

`words` turns what the pure core says (scoring.wording.Text, or a plain English msgid marked with
gettext_noop) into the active language."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from scoring.wording import Text


def words(value: object) -> str:
    """A Text or a marked English string in the active language; anything else as str()."""
    if isinstance(value, Text):
        return value.render(gettext)
    if isinstance(value, str):
        return gettext(value) if value else value
    return "" if value is None else str(value)


# The signed-in user's language, kept in the session from sign-in (or the switch) on: one query at
# sign-in, none per page.
SESSION_KEY = "nasovcf_language"


def supported(language: object) -> str | None:
    """`language` if it is one of settings.LANGUAGES' codes, else None."""
    codes = {code for code, _name in settings.LANGUAGES}
    return language if isinstance(language, str) and language in codes else None


def language_switch(request) -> dict:
    """The navigation bar's switch: each other language, named in itself ("English", "简体中文")
    as settings.LANGUAGES writes it, never translated into the page's language."""
    current = translation.get_language()
    return {"other_languages": [(code, name) for code, name in settings.LANGUAGES if code != current]}


class UserLanguageMiddleware:
    """Below AuthenticationMiddleware: a signed-in user who chose a language sees it on every page,
    whatever the browser asks or the cookie says (a shared ward computer, a new tablet). Without a
    choice, LocaleMiddleware's answer (the cookie, else Accept-Language) stands."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            language = supported(request.session.get(SESSION_KEY))
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


@receiver(user_logged_in)
def remember_language_at_sign_in(sender, request, user, **kwargs):
    """At sign-in, the user's remembered language (if they chose one) goes into the session."""
    from scoring.models import UserLanguage

    if request is None:
        return
    chosen = UserLanguage.objects.filter(user=user).values_list("language", flat=True).first()
    if supported(chosen):
        request.session[SESSION_KEY] = chosen


@login_not_required
@require_POST
def set_language(request):
    """The navigation bar's switch: Django's set_language (the cookie, and back to `next` if it is
    this site's), and for a signed-in user the choice remembered for every later sign-in."""
    from scoring.models import UserLanguage

    language = supported(request.POST.get("language"))
    if language is None:  # not one of ours (Django's would set a cookie for any it has a catalogue of)
        next_url = request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure())
        return HttpResponseRedirect(next_url if safe else "/")
    response = django_set_language(request)
    if request.user.is_authenticated:
        UserLanguage.objects.update_or_create(user=request.user, defaults={"language": language})
        request.session[SESSION_KEY] = language
    return response
