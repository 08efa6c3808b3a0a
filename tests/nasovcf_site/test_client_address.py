"""The client's address (nasovcf_site/middleware.py): X-Forwarded-For is believed only as far as
NASOVCF_TRUSTED_PROXIES says, an address that is not an IP is refused (400, never a 500), and no log
line carries the header's text. Also how gunicorn is served (gunicorn.conf.py).

The attacks reproduced are the hostile test's (issue 12, finding 2): with DJANGO_HTTPS=1 and nothing
in front of gunicorn the address was the last X-Forwarded-For entry, whoever wrote it.
"""

import json
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.test import RequestFactory

from nasovcf_site.middleware import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SPOOFED_TEXT = "1.2.3.4 user=root address=10.0.0.1"


@pytest.fixture
def behind_tls(settings):
    """What DJANGO_HTTPS=1 sets that a request can see; NASOVCF_BEHIND_PROXY is what it also set
    before this fix (X-Forwarded-For believed): it must no longer matter."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.NASOVCF_BEHIND_PROXY = True
    return settings


def sign_in(client, password, forwarded_for=None, username="clinician", **extra):
    headers = {"HTTP_X_FORWARDED_PROTO": "https", **extra}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def auth_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "nasovcf.auth"]


# -- no proxy: the header is ignored ----------------------------------------------------------------


def test_with_no_trusted_proxy_12_invented_addresses_are_one_client_locked_after_5(client, user, behind_tls):
    behind_tls.NASOVCF_TRUSTED_PROXIES = 0
    statuses = [sign_in(client, "wrong", forwarded_for=f"203.0.113.{i}").status_code for i in range(12)]
    assert statuses == [200] * 4 + [429] * 8
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}  # the socket's peer


def test_with_no_trusted_proxy_the_header_never_reaches_the_log(client, user, behind_tls, caplog):
    behind_tls.NASOVCF_TRUSTED_PROXIES = 0
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        sign_in(client, "wrong", forwarded_for=SPOOFED_TEXT)
        sign_in(client, PASSWORD, forwarded_for=SPOOFED_TEXT)
    assert auth_lines(caplog) == [
        "failed sign-in user=clinician address=127.0.0.1",
        "sign-in user=clinician address=127.0.0.1",
    ]
    assert "user=root" not in caplog.text


# -- behind proxies: the entry the outermost trusted proxy appended -------------------------------


def test_behind_one_proxy_spoofed_left_entries_do_not_matter(client, user, settings, caplog):
    settings.NASOVCF_TRUSTED_PROXIES = 1
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        statuses = [sign_in(client, "wrong", forwarded_for=f"198.51.100.{i}, 10.0.0.7").status_code for i in range(6)]
    assert statuses == [200] * 4 + [429] * 2
    assert all(line.endswith("address=10.0.0.7") for line in auth_lines(caplog))
    assert "198.51.100" not in caplog.text
    # The same user from another address (as the proxy saw it) is not locked.
    assert sign_in(client, PASSWORD, forwarded_for="198.51.100.1, 10.0.0.8").status_code == 302


def test_an_ipv6_address_with_a_zone_is_kept_without_it(client, user, settings):
    settings.NASOVCF_TRUSTED_PROXIES = 1
    assert sign_in(client, "wrong", forwarded_for="fe80::1%eth0").status_code == 200  # PostgreSQL's inet: no zones
    assert AccessFailureLog.objects.get().ip_address == "fe80::1"


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "expected"),
    [
        (0, "10.0.0.1", "203.0.113.9", "10.0.0.1"),
        (1, "127.0.0.1", "203.0.113.9", "203.0.113.9"),
        (1, "127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "127.0.0.1", " 2001:DB8::1 ", "2001:db8::1"),  # canonical form
        (1, "127.0.0.1", "fe80::1%eth0", "fe80::1"),  # a zone PostgreSQL's inet would refuse
        (1, "127.0.0.1", "6.6.6.6, not-an-ip", None),
        (1, "127.0.0.1", SPOOFED_TEXT, None),
        (1, "127.0.0.1", "", None),
        (1, "127.0.0.1", None, None),
        (2, "127.0.0.1", "203.0.113.9", None),  # fewer entries than proxies
        (0, "", "203.0.113.9", None),
    ],
)
def test_client_ip_reads_only_what_the_trusted_proxies_wrote(settings, proxies, remote_addr, forwarded_for, expected):
    settings.NASOVCF_TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip(RequestFactory().get("/", **extra)) == expected


# -- an address that is not an IP: 400, nothing stored, nothing of it logged ----------------------


@pytest.mark.parametrize("forwarded_for", ["not-an-ip", SPOOFED_TEXT, "203.0.113.9, ", None])
def test_a_sign_in_whose_address_is_not_an_ip_is_refused_with_400(client, user, settings, caplog, forwarded_for):
    settings.NASOVCF_TRUSTED_PROXIES = 1
    with caplog.at_level(logging.INFO, logger="nasovcf.auth"):
        response = sign_in(client, "wrong", forwarded_for=forwarded_for)
    assert response.status_code == 400  # on PostgreSQL, "not-an-ip" in axes' inet column was a 500
    assert "your address could not be determined" in response.content.decode()
    assert not AccessAttempt.objects.exists() and not AccessFailureLog.objects.exists()
    assert auth_lines(caplog) == [
        "refused a request: its client address is missing or not an IP address (NASOVCF_TRUSTED_PROXIES=1)"
    ]
    assert "user=root" not in caplog.text and "not-an-ip" not in caplog.text


def test_an_unusable_address_is_refused_everywhere_but_the_health_check(client, settings):
    settings.NASOVCF_TRUSTED_PROXIES = 2
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}  # one proxy where two are configured
    assert client.get("/accounts/login/", **forwarded).status_code == 400
    api = client.post("/api/score/", "{}", content_type="application/json", **forwarded)
    assert api.status_code == 400 and "could not tell which address" in api.json()["errors"]["__all__"][0]
    assert client.get("/healthz", **forwarded).status_code == 200  # monitors may call gunicorn directly


def test_a_refused_address_is_told_in_its_own_language_not_the_threads_last_one(client, settings):
    """ClientAddressMiddleware answers above LocaleMiddleware: a Chinese request served before on
    the same thread must not leave its language to an English visitor's refusal (issue 16)."""
    from django.utils import translation

    settings.NASOVCF_TRUSTED_PROXIES = 2
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}  # one proxy where two are configured
    translation.activate("zh-hans")  # what the thread's previous (Chinese) request left active
    try:
        english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en", **forwarded)
        assert english.status_code == 400 and "your address could not be determined" in english.content.decode()
        api = client.post("/api/score/", "{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **forwarded)
        assert "could not tell which address" in api.json()["errors"]["__all__"][0]
        translation.activate("en-gb")
        chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9", **forwarded)
        assert chinese.status_code == 400 and 'lang="zh-hans"' in chinese.content.decode()
    finally:
        translation.deactivate()


# -- the setting, from the environment ------------------------------------------------------------

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.NASOVCF_TRUSTED_PROXIES)"


def probe(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "NASOVCF_"))}
    clean.update(NASOVCF_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="nasovcf_site.settings", **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_the_proxy_count_defaults_to_none_even_behind_tls(tmp_path):
    result = probe(tmp_path, DJANGO_HTTPS="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == 0
    assert json.loads(probe(tmp_path, NASOVCF_TRUSTED_PROXIES="1").stdout) == 1


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_proxy_count_that_is_not_a_whole_number_stops_the_start(tmp_path, value):
    result = probe(tmp_path, NASOVCF_TRUSTED_PROXIES=value)
    assert result.returncode != 0
    assert "NASOVCF_TRUSTED_PROXIES must be a whole number" in result.stderr


# -- gunicorn: no control socket shared by every instance of the user ------------------------------


def test_gunicorn_opens_no_control_socket():
    from gunicorn.config import Config

    config = Config()
    for name, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    # gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl), each new instance
    # taking it from the last; the app uses none.
    assert config.control_socket_disable is True
