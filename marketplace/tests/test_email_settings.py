"""Production sends real mail or refuses to start: the console backend would print reset links,
names and addresses into the log (stdout). EMAIL_URL is parsed by marketplace.settings.base."""

import subprocess
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

import pytest

from marketplace.settings.base import email_config

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; from django.conf import settings as s; django.setup(); "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
    "s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_TIMEOUT)"
)
SECRETS = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "vitrine.example"}


def production(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
             **SECRETS, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_production_refuses_to_start_without_an_email_configuration():
    result = production()
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "EMAIL_URL" in result.stderr


def test_production_refuses_the_console_backend():
    result = production(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    assert result.returncode != 0 and "console" in result.stderr


def test_production_takes_an_email_url():
    result = production(EMAIL_URL="smtp://mailer:s%40cret@smtp.example.com:587/?tls=1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "587", "mailer",
        "s@cret", "True", "False", "10",
    ]  # fmt: skip


def test_production_takes_an_explicit_backend():
    result = production(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "anymail.backends.postmark.EmailBackend"


def test_a_bad_email_url_does_not_echo_the_password():
    result = production(EMAIL_URL="smtp://mailer:hunter2@:notaport/")
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+ssl://u:p@mail.example:465/",
            {"EMAIL_HOST": "mail.example", "EMAIL_PORT": 465, "EMAIL_USE_SSL": True,
             "EMAIL_USE_TLS": False, "EMAIL_HOST_USER": "u", "EMAIL_HOST_PASSWORD": "p"},
        ),
        ("smtps://mail.example", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}),
        ("smtp+tls://mail.example", {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True}),
        ("smtp://mail.example?tls=true&timeout=3", {"EMAIL_USE_TLS": True, "EMAIL_TIMEOUT": 3}),
        (
            "smtp://127.0.0.1:1025",
            {"EMAIL_PORT": 1025, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
             "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""},
        ),
        ("smtp://apikey:a%2Fb%3Ac@smtp.example/", {"EMAIL_HOST_PASSWORD": "a/b:c"}),
    ],
)  # fmt: skip
def test_email_url_forms(url, expected):
    config = email_config(url)
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert {key: config[key] for key in expected} == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example/",
        "smtp://",
        "smtp://u:p@mail.example:99999/",
        "smtp+ssl://mail.example/?tls=1",
        "smtp://mail.example/?timeout=soon",
    ],
)
def test_bad_email_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured):
        email_config(url)
