"""Security properties that must hold on every deploy."""

import base64
import hashlib
import os
import re
import runpy
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, override_settings

from campaign.models import Post
from rewards.models import ReviewItem, Reward, StatusLink
from rewards.selectors.links import status_link_url
from rewards.services import rewards_approve, settle_campaign
from rewards.services.status_links import status_links_ensure
from rewards.services.traffic import traffic_refresh
from tests.rewards.scenario import scenario_load

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


# --- Admin login behind the TLS proxy -----------------------------------------------------------
VICTIM_PASSWORD = "the-right-password-123"


def computed_settings(**env):
    """What config/settings.py computes with these environment variables (on top of the test
    run's own), read by running the real module again, as a deploy would import it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("BEHIND_TLS_PROXY", raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        return runpy.run_path(str(ROOT / "config" / "settings.py"))


def client_address_settings(**env):
    """The settings that decide which address a login attempt counts against, as computed."""
    computed = computed_settings(**env)
    return override_settings(**{name: value for name, value in computed.items() if name.startswith(("AXES_", "IPWARE_"))})


def log_in(client, password, forwarded_for=None, remote_addr="127.0.0.1"):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post("/admin/login/", {"username": "ops", "password": password}, **headers)


def test_behind_the_proxy_an_attacker_locks_out_only_their_own_address():
    User.objects.create_superuser("ops", "ops@example.com", VICTIM_PASSWORD)
    with client_address_settings(BEHIND_TLS_PROXY="true"):
        # Every request comes from the proxy (127.0.0.1); the proxy names the client in X-Forwarded-For.
        statuses = [log_in(Client(), "wrong", forwarded_for="203.0.113.9").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        assert log_in(Client(), VICTIM_PASSWORD, forwarded_for="203.0.113.9").status_code == 429
        victim = Client()
        assert log_in(victim, VICTIM_PASSWORD, forwarded_for="198.51.100.7").status_code == 302
        assert "_auth_user_id" in victim.session
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_behind_the_proxy_a_forged_forwarded_address_counts_against_the_sender():
    User.objects.create_superuser("ops", "ops@example.com", VICTIM_PASSWORD)
    with client_address_settings(BEHIND_TLS_PROXY="true"):
        # The attacker claims the victim's address; the proxy appends the address it saw.
        for _ in range(5):
            log_in(Client(), "wrong", forwarded_for="198.51.100.7, 203.0.113.9")
        assert log_in(Client(), VICTIM_PASSWORD, forwarded_for="198.51.100.7").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_without_the_proxy_the_forwarded_header_is_not_trusted():
    User.objects.create_superuser("ops", "ops@example.com", VICTIM_PASSWORD)
    with client_address_settings():
        for _ in range(5):
            log_in(Client(), "wrong", forwarded_for="203.0.113.9")
        # A header the client wrote itself changes nothing: the lockout is on the real address.
        assert log_in(Client(), VICTIM_PASSWORD, forwarded_for="198.51.100.7").status_code == 429
        assert log_in(Client(), VICTIM_PASSWORD, remote_addr="198.51.100.7").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


# --- Content-Security-Policy --------------------------------------------------------------------
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)  # JSON data blocks never run
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style>", re.I | re.S)


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def style_hash(css):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


def assert_runs_under_the_policy(response):
    """Nothing in the page that the policy would block: no inline script or event handler, and
    every inline <style> element allowed by its hash."""
    page = response.content.decode()
    directives = csp_directives(response)
    assert INLINE_SCRIPT.findall(page) == []
    assert EVENT_HANDLER.findall(page) == []
    assert [css for css in STYLE_ELEMENT.findall(page) if style_hash(css) not in directives["style-src"]] == []


@pytest.mark.parametrize("url", ["/admin/login/", "/c/star-lead-traders-2/", "/api/docs/", "/api/v1/campaigns/star-lead-traders-2/leaderboard/", "/hooks/posts/"])
def test_every_response_carries_the_content_security_policy(client, campaign, url):
    directives = csp_directives(client.get(url))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["style-src-attr"] == ["'unsafe-inline'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]


def test_the_swagger_ui_page_and_its_start_script_run_under_the_policy(client):
    page = client.get("/api/docs/")
    assert_runs_under_the_policy(page)
    assert '<script src="/api/docs/?script="></script>' in page.content.decode()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def ledger_with_review_items(campaign, user):
    """The scenario of tests/rewards/scenario.py settled, its rewards approved by `user`, then
    trader 1001's posts deleted and settled again (review items open), with status links: every
    admin list has rows (badges, totals, links) and every page something to show."""
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    assert rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=user)[0]
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=campaign, at=DUE)
    assert ReviewItem.objects.exists()
    assert status_links_ensure(campaign=campaign)
    return campaign


@pytest.fixture
def settled(campaign):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    return ledger_with_review_items(campaign, user), user


def test_every_admin_page_runs_under_the_policy(client, settled):
    campaign, user = settled
    client.force_login(user)
    pages = f"/admin/campaign/campaign/{campaign.pk}/"
    urls = ["/admin/", f"{pages}import/", f"{pages}enrolment/", f"{pages}dashboard/", f"{pages}dashboard/preview/", f"{pages}whatif/"]
    for model in admin.site._registry:
        urls.append(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(f"/admin/{model._meta.app_label}/{model._meta.model_name}/{first.pk}/change/")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_runs_under_the_policy(response)


def test_the_trader_pages_run_under_the_policy(client, settled):
    for link in StatusLink.objects.all():
        assert_runs_under_the_policy(client.get(urlsplit(status_link_url(link)).path))
    assert_runs_under_the_policy(client.get(f"/c/{settled[0].slug}/"))


@pytest.mark.parametrize("action", ["disable_tasks", "toggle_tasks", "run_tasks"])
def test_a_view_only_staff_user_cannot_act_on_the_beat_schedule(action):
    """django-celery-beat's actions name no permission of their own (rewards/admin_schedule.py)."""
    from django.contrib.auth.models import Permission
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(name="probe", task="rewards.tasks.settle_due_campaigns", interval=every, enabled=True)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(content_type__app_label="django_celery_beat", codename__startswith="view_"))
    client = Client()
    client.force_login(viewer)
    listing = client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "probe" in listing and f'value="{action}"' not in listing
    client.post("/admin/django_celery_beat/periodictask/", {"action": action, "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.enabled and task.total_run_count == 0 and task.last_run_at is None
