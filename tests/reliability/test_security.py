"""Security properties that must hold on every deploy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_check_deploy_is_clean_with_production_settings():
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-0123456789abcdef",
        "ALLOWED_HOSTS": "campaigns.example.com",
        "WEBHOOK_SECRET": "a-shared-webhook-secret",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {"PATH": os.environ["PATH"], "ALLOWED_HOSTS": "x"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("url", ["/admin/login/", "/hooks/posts/"])
def test_security_headers_are_on_every_page(client, url):
    response = client.get(url)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_admin_forms_refuse_a_post_without_a_csrf_token(campaign):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    response = client.post(f"/admin/campaign/campaign/{campaign.pk}/import/", {"kind": "signups"})
    assert response.status_code == 403


def test_no_sql_is_built_by_string_formatting():
    """Raw SQL only with parameters: no f-string, %-format or .format() next to execute/raw/extra."""
    offenders = []
    pattern = re.compile(r"\.(execute|raw|extra)\(\s*(f[\"']|[\"'][^\"']*[\"']\s*(%|\.format))")
    for path in [p for app in ("config", "traders", "campaign", "rewards") for p in (ROOT / app).glob("**/*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_sql_check_would_catch_formatting():
    pattern = re.compile(r"\.(execute|raw|extra)\(\s*(f[\"']|[\"'][^\"']*[\"']\s*(%|\.format))")
    assert pattern.search('cursor.execute(f"SELECT {x}")')
    assert pattern.search("cursor.execute('SELECT %s' % x)")
    assert not pattern.search('cursor.execute("SELECT %s", [x])')


def test_admin_login_brute_force_is_locked_out_after_five_failures(client):
    User.objects.create_superuser("ops", "ops@example.com", "the-right-password-123")
    statuses = [client.post("/admin/login/", {"username": "ops", "password": "wrong"}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the form with its error four times, then locked
    locked = client.post("/admin/login/", {"username": "ops", "password": "the-right-password-123"})
    assert locked.status_code == 429  # even the right password is refused while locked out
    assert "_auth_user_id" not in client.session


def test_a_successful_login_is_not_locked_out(client):
    User.objects.create_superuser("ops", "ops@example.com", "the-right-password-123")
    for _ in range(4):
        client.post("/admin/login/", {"username": "ops", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "ops", "password": "the-right-password-123"})
    assert response.status_code == 302 and "_auth_user_id" in client.session
