"""Sign-in and password change (nasovcf_site/accounts.py) and their audit log lines (scoring/signals.py):
the password-change page counts wrong current passwords like failed sign-ins, a `next` naming the
sign-in page is no redirect loop, a name that is no account's is neither logged nor stored, and the
server's own sign-outs (idle, 12 hours, lockout) are logged with their reason.

Each test reproduces a finding of the hostile test (issue 12: 3, 7, 10).
"""

import datetime
import logging
import time

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from nasovcf_site.middleware import SESSION_STARTED_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-and-long-passphrase-42"


def text(response) -> str:
    return " ".join(response.content.decode().split())  # as read: line breaks in the HTML are spaces


def auth_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "nasovcf.auth"]


def sign_in(client, username="clinician", password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def change_password(client, current, new=NEW_PASSWORD):
    return client.post("/accounts/password/", {"old_password": current, "new_password1": new, "new_password2": new})


def signed_out(client) -> bool:
    response = client.get("/patients/")
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# -- the sign-in page's redirect loop (finding 3) ---------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "/accounts/login/",
        "/accounts/login",
        "/accounts/login/?next=/accounts/login/",
        "/accounts/%6Cogin/",
        "http://testserver/accounts/login/",
    ],
)
def test_a_signed_in_user_sent_to_the_sign_in_page_itself_goes_home(signed_in, next_url):
    response = signed_in.get("/accounts/login/", {"next": next_url})  # Django raised its redirect-loop error: a 500
    assert response.status_code == 302
    assert response["Location"] == "/patients/"


def test_a_signed_in_user_is_still_sent_on_to_another_page(signed_in):
    response = signed_in.get("/accounts/login/", {"next": "/worklist/"})
    assert response.status_code == 302 and response["Location"] == "/worklist/"


def test_signing_in_with_next_naming_the_sign_in_page_lands_home(client, user):
    response = client.post(
        "/accounts/login/?next=/accounts/login/",
        {"username": "clinician", "password": PASSWORD, "next": "/accounts/login/"},
    )
    assert response.status_code == 302 and response["Location"] == "/patients/"


# -- password change: wrong current passwords count as failed sign-ins (finding 7) ----------------


def test_five_wrong_current_passwords_lock_the_account_here_and_end_the_session(client, user, caplog):
    sign_in(client)
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        caplog.clear()  # only what follows
        for guess in range(4):
            response = change_password(client, f"guess-{guess}")
            assert response.status_code == 200
            assert "old password was entered incorrectly" in text(response)
            assert not signed_out(client)
        fifth = change_password(client, "guess-4")
    assert fifth.status_code == 429  # Django's own view let this go on for ever
    assert "locked for 15 minutes" in text(fifth) and "you have been signed out" in text(fifth)
    assert signed_out(client)
    assert auth_lines(caplog) == ["failed password change user=clinician address=127.0.0.1"] * 5 + [
        "sign-out reason=lockout user=clinician address=127.0.0.1"
    ]
    assert AccessFailureLog.objects.filter(username="clinician", path_info="/accounts/password/").count() == 5
    # Locked as a sign-in would be: even the right password, from here; not from elsewhere.
    assert sign_in(client).status_code == 429
    assert sign_in(Client(), REMOTE_ADDR="10.0.0.2").status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_password_change_is_refused_while_the_account_is_locked_from_this_address(client, user):
    sign_in(client)
    guesser = Client()
    for _ in range(5):
        sign_in(guesser, password="wrong")
    response = change_password(client, PASSWORD)  # the right password, but the sign-in is locked
    assert response.status_code == 429
    assert signed_out(client)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_right_current_password_clears_the_count_as_a_sign_in_does(client, user):
    sign_in(client)
    for guess in range(4):
        change_password(client, f"guess-{guess}")
    assert change_password(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()
    for guess in range(4):
        assert change_password(client, f"again-{guess}", new="yet-another-long-passphrase").status_code == 200
    assert not signed_out(client)


# -- a name that is no account's is neither logged nor kept (finding 10) -------------------------


def test_a_password_typed_into_the_username_box_is_neither_logged_nor_stored(client, user, caplog):
    typed = "Tr0ub4dor&3-correct"  # a password, typed into the username box
    with caplog.at_level(logging.INFO):
        statuses = [sign_in(client, username=typed, password="x").status_code for _ in range(6)]
    assert statuses == [200] * 4 + [429] * 2  # still locked out after 5, as any name is
    assert auth_lines(caplog) == ["failed sign-in user=(unknown) address=127.0.0.1"] * 6
    assert typed not in caplog.text
    stored = [
        *AccessFailureLog.objects.values_list("username", flat=True),
        *AccessAttempt.objects.values_list("username", "post_data", "get_data"),
    ]
    assert typed not in repr(stored)
    kept = AccessAttempt.objects.get().username
    assert kept.startswith("unknown-")  # a short keyed tag, the same for every try of that name
    assert set(AccessFailureLog.objects.values_list("username", flat=True)) == {kept}


def test_an_accounts_username_is_logged_and_kept_as_before(client, user, caplog):
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        caplog.clear()  # only what follows
        sign_in(client, password="wrong")
    assert auth_lines(caplog) == ["failed sign-in user=clinician address=127.0.0.1"]
    assert AccessFailureLog.objects.get().username == "clinician"


# -- the server's own sign-outs are logged with their reason (finding 10) -------------------------


def test_an_idle_sign_out_is_logged_once_when_the_next_request_arrives(client, user, caplog):
    sign_in(client)
    key = client.cookies["sessionid"].value
    expired_at = timezone.now() - datetime.timedelta(seconds=1)
    Session.objects.filter(session_key=key).update(expire_date=expired_at)
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        caplog.clear()  # only what follows
        assert signed_out(client)
        client.get("/accounts/login/")
        client.cookies["sessionid"] = key  # even if the old cookie comes back
        client.get("/accounts/login/")
    assert auth_lines(caplog) == ["sign-out reason=idle user=clinician address=127.0.0.1"]
    assert not Session.objects.filter(session_key=key).exists()
    assert AccessLog.objects.get(username="clinician").logout_time == expired_at


def test_the_12_hour_sign_out_is_logged(client, user, caplog):
    sign_in(client)
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 12 * 3600 - 5
    session.save()
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        caplog.clear()  # only what follows
        assert signed_out(client)
    assert auth_lines(caplog) == ["sign-out reason=lifetime user=clinician address=127.0.0.1"]


def test_an_unknown_or_signed_out_session_cookie_logs_nothing(client, user, caplog):
    sign_in(client)
    key = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        caplog.clear()  # only what follows
        client.cookies["sessionid"] = key
        client.get("/accounts/login/")
        client.cookies["sessionid"] = "nosuchsession0000000000000000000"
        client.get("/accounts/login/")
        client.cookies["sessionid"] = "NOT-A-KEY"
        client.get("/accounts/login/")
    assert auth_lines(caplog) == []
