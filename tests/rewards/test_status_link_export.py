"""Every trader the campaign knows has a status link (a registration, a sign-up, a post or a
reward), and ops export every link of a campaign as CSV or XLSX for the messaging team: one row
per trader, each link working, no cell a spreadsheet would run as a formula."""

import csv
import io
import json
import threading
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from openpyxl import load_workbook

from campaign.services import posts_import_file, signups_import
from rewards.models import Reward, SettlementRun, StatusLink
from rewards.services import settle_campaign
from rewards.services.status_links import EXPORT_HEADER, status_link_ensure, status_links_ensure, status_links_export, status_links_rotate
from tests.factories import CampaignFactory, SignupFactory, TraderFactory, post_item
from tests.rewards.scenario import scenario_load
from traders.models import Trader
from traders.services import registrations_import

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
HYPERLINK = '=HYPERLINK("http://evil.example/","click")'
# 2001 registered only; 2002 signed up only; 2003 posted only; 2004 holds a reward only.
REGISTERED_ONLY = f"""uid,nickname,market,status,applied_at,approved_at
2001,"{HYPERLINK.replace('"', '""')}",futures,pending,2026-02-01T10:00:00+08:00,
"""


@pytest.fixture
def known(campaign):
    """The settled scenario (1001-1004: registered, signed up, posted), plus one trader known by
    each door alone, and 2005, known to another campaign only. Returns the UIDs `campaign` knows."""
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    registrations_import(data=REGISTERED_ONLY.encode())
    assert signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n2002,2026-02-13T10:00:00+08:00,s,\n").ok
    assert posts_import_file(campaign=campaign, data=(json.dumps(post_item("x2003", 2003)) + "\n").encode()).ok
    Reward.objects.create(campaign=campaign, kind="first_post", period="P1", trader=TraderFactory(uid=2004), asset="USDT", amount=Decimal("1.00"),
                          settlement_run=SettlementRun.objects.filter(campaign=campaign).latest("pk"))  # fmt: skip
    SignupFactory(campaign=CampaignFactory(slug="other"), trader=TraderFactory(uid=2005))
    return {1001, 1002, 1003, 1004, 2001, 2002, 2003, 2004}


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


def export_csv(client, campaign):
    response = client.get(f"/admin/rewards/statuslink/export/{campaign.pk}/csv/")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_a_registered_trader_without_posts_gets_a_link_to_a_page_that_answers(client, campaign):
    registrations_import(data=REGISTERED_ONLY.encode())
    assert status_links_ensure(campaign=campaign) == 1
    link = StatusLink.objects.get(campaign=campaign)
    assert (link.trader.uid, link.version) == (2001, 1)
    rows = list(csv.reader(io.StringIO(status_links_export(campaign=campaign, fmt="csv").content.decode())))
    assert [row[0] for row in rows[1:]] == ["2001"]
    page = client.get(urlsplit(rows[1][2]).path)
    assert page.status_code == 200 and "UID 2001" in page.content.decode()


def test_every_trader_the_campaign_knows_gets_one_link_and_no_one_else(known, campaign):
    status_links_ensure(campaign=campaign)
    assert set(StatusLink.objects.filter(campaign=campaign).values_list("trader__uid", flat=True)) == known
    assert not StatusLink.objects.filter(trader__uid=2005).exists()
    status_links_rotate(link_ids=StatusLink.objects.filter(trader__uid=1001).values_list("pk", flat=True), by="ops")
    assert status_links_ensure(campaign=campaign) == 0  # idempotent: nothing created, no version touched
    assert StatusLink.objects.get(trader__uid=1001).version == 2
    assert StatusLink.objects.filter(campaign=campaign).count() == len(known)


def test_one_link_is_ensured_by_uid_only_for_a_trader_the_campaign_knows(known, campaign):
    link = status_link_ensure(campaign=campaign, uid=2001)
    assert link is not None and link.version == 1
    assert status_link_ensure(campaign=campaign, uid=2001).pk == link.pk
    assert status_link_ensure(campaign=campaign, uid=2005) is None  # known to another campaign only
    assert status_link_ensure(campaign=campaign, uid=987654) is None  # no such trader at all
    assert status_link_ensure(campaign=campaign, uid=0) is None and status_link_ensure(campaign=campaign, uid=2**63) is None
    assert StatusLink.objects.filter(campaign=campaign).count() == 1


def test_the_csv_export_has_one_row_per_known_trader_with_a_working_link(ops, known, campaign):
    rows = export_csv(ops, campaign)
    assert tuple(rows[0]) == EXPORT_HEADER == ("uid", "nickname", "url", "created")
    assert [int(row[0]) for row in rows[1:]] == sorted(known)
    for uid, _nickname, url, created in rows[1:]:
        assert url.startswith("http://testserver/s/") and "lang" not in url  # language-neutral
        assert created.endswith("+08:00")
        page = ops.get(urlsplit(url).path)
        assert page.status_code == 200 and f"UID {uid}" in page.content.decode()
    again = export_csv(ops, campaign)  # a second export creates nothing and lists the same traders
    assert [row[0] for row in again] == [row[0] for row in rows] and StatusLink.objects.filter(campaign=campaign).count() == len(known)


def test_the_csv_export_defuses_formula_like_nicknames(ops, known, campaign):
    nicknames = {int(row[0]): row[1] for row in export_csv(ops, campaign)[1:]}
    assert nicknames[1002] == "'=cmd|' /C calc'!A0"
    assert nicknames[2001] == "'" + HYPERLINK
    assert nicknames[1001] == "alpha"
    assert not [cell for row in export_csv(ops, campaign) for cell in row if cell[:1] in ("=", "+", "-", "@")]


def test_the_xlsx_export_has_the_same_rows_and_keeps_formula_like_nicknames_as_text(ops, known, campaign):
    response = ops.get(f"/admin/rewards/statuslink/export/{campaign.pk}/xlsx/")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows())
    assert tuple(cell.value for cell in rows[0]) == EXPORT_HEADER
    assert [row[0].value for row in rows[1:]] == sorted(known)
    by_uid = {row[0].value: row for row in rows[1:]}
    for uid, text in ((1002, "=cmd|' /C calc'!A0"), (2001, HYPERLINK)):
        assert (by_uid[uid][1].data_type, by_uid[uid][1].value) == ("s", text)  # a string cell, shown as typed
    assert not [cell.coordinate for row in rows for cell in row if cell.data_type == "f"]
    url = by_uid[2001][2].value
    assert ops.get(urlsplit(url).path).status_code == 200


def test_the_export_needs_the_view_permission_of_status_links(client, known, campaign):
    staff = User.objects.create_user("staff", password="pw-staff-123456", is_staff=True)
    client.force_login(staff)
    assert client.get(f"/admin/rewards/statuslink/export/{campaign.pk}/csv/").status_code == 403
    assert not StatusLink.objects.exists()
    staff.user_permissions.add(Permission.objects.get(codename="view_statuslink"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert client.get(f"/admin/rewards/statuslink/export/{campaign.pk}/csv/").status_code == 200
    assert client.get(f"/admin/rewards/statuslink/export/{campaign.pk}/pdf/").status_code == 404
    assert client.get("/admin/rewards/statuslink/export/999999/csv/").status_code == 404
    with pytest.raises(ValueError):
        status_links_export(campaign=campaign, fmt="pdf")


def test_the_links_list_offers_the_export_of_the_selected_campaign_or_of_each(ops, known, campaign):
    html = ops.get("/admin/rewards/statuslink/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for slug, pk in ((campaign.slug, campaign.pk), ("other", Trader.objects.get(uid=2005).signups.get().campaign_id)):
        assert f'href="/admin/rewards/statuslink/export/{pk}/csv/"' in html and f'href="/admin/rewards/statuslink/export/{pk}/xlsx/"' in html
        assert f"Links of {slug} (CSV)" in html
    html = ops.get("/admin/rewards/statuslink/", {"campaign__id__exact": campaign.pk}).content.decode()
    assert html.count('class="status-links-export"') == 2


@pytest.mark.postgres
def test_two_exports_at_once_leave_one_link_per_trader(transactional_db, campaign):
    registrations_import(data=REGISTERED_ONLY.encode())
    for uid in range(3001, 3041):
        SignupFactory(campaign=campaign, trader=TraderFactory(uid=uid))
    barrier, errors, made = threading.Barrier(3), [], []

    def run(kind):
        try:
            barrier.wait()
            if kind == "uid":
                made.append(status_link_ensure(campaign=campaign, uid=2001).pk)
            else:
                status_links_export(campaign=campaign, fmt="csv")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(kind,)) for kind in ("csv", "csv", "uid")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert StatusLink.objects.filter(campaign=campaign).count() == 41
    assert made == [StatusLink.objects.get(trader__uid=2001).pk]



def test_ops_cannot_delete_a_link_so_a_link_made_again_never_revives_old_tokens(campaign, admin_client):
    """Deleting would let the next export make the link afresh at version 1, where every token
    signed for the deleted link works again; a link is revoked by rotating it."""
    trader = TraderFactory(uid=3001)
    link = StatusLink.objects.create(campaign=campaign, trader=trader)
    response = admin_client.post(f"/admin/rewards/statuslink/{link.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = admin_client.post("/admin/rewards/statuslink/", {"action": "delete_selected", "_selected_action": [link.pk], "post": "yes"})
    assert StatusLink.objects.filter(pk=link.pk).exists()
