"""Ops take the posts list and the enrolment list to a spreadsheet (issue 18): the file holds what
the list selects (its filters and search, every page), in the reader's language, and no nickname or
post text a trader typed ever runs as a formula when the file is opened."""

import csv
import io
import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from openpyxl import load_workbook

from campaign.models import Post, Signup
from campaign.services import posts_import_file
from tests.factories import TRADING_TEXT, enrolled_trader, post_item
from traders.models import Trader

pytestmark = pytest.mark.django_db
HYPERLINK = '=HYPERLINK("http://x","y")'
POSTS = "/admin/campaign/post/"
# Each a post text a spreadsheet would run, were it not defused.
FORMULA_TEXTS = {"f1": HYPERLINK + " $BTC long", "f2": "+cmd|' /C calc'!A0 $BTC", "f3": "-1+1 $BTC futures long", "f4": "@SUM(A1:A9) $ETH short"}


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


@pytest.fixture
def posts(campaign):
    """uid 11 (nickname a formula) and 12 ("needle") are enrolled; 13 is not (no registration).
    11 posts the four formula-like texts, 12 two trading posts, 13 one."""
    enrolled_trader(uid=11, nickname=HYPERLINK)
    enrolled_trader(uid=12, nickname="needle")
    Trader.objects.create(uid=13, nickname="plain")
    items = [post_item(post_id, 11, text=text) for post_id, text in FORMULA_TEXTS.items()]
    items += [
        post_item("n1", 12, likes=7, views=1200),
        post_item("n2", 12, created_at="2026-02-15T09:30:05+08:00", text=TRADING_TEXT + " 止损"),
        post_item("x1", 13),
    ]
    assert posts_import_file(campaign=campaign, data="\n".join(json.dumps(item, ensure_ascii=False) for item in items).encode()).ok
    return campaign


def csv_rows(response):
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="') and response["Content-Disposition"].endswith('.csv"')
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel reads the UTF-8 (nicknames, Chinese headers) right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_sheet(response):
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    return load_workbook(io.BytesIO(response.content)).active


def test_the_posts_file_holds_every_post_the_filtered_list_selects_on_every_page(ops, posts, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Post], "list_per_page", 2)
    rows = csv_rows(ops.get(POSTS + "export/csv/", {"author__uid__exact": 11, "p": 2}))
    assert sorted(row[1] for row in rows[1:]) == ["f1", "f2", "f3", "f4"]  # four rows, though the list shows two a page
    qualified = set(Post.objects.filter(verdict=Post.Verdict.QUALIFIED).values_list("post_id", flat=True))
    assert qualified and qualified != set(Post.objects.values_list("post_id", flat=True))  # the filter leaves some out
    rows = csv_rows(ops.get(POSTS + "export/csv/", {"verdict__exact": "qualified"}))
    assert len(rows) - 1 == len(qualified) and {row[1] for row in rows[1:]} == qualified
    searched = csv_rows(ops.get(POSTS + "export/csv/", {"q": "needle"}))
    assert [row[1] for row in searched[1:]] == ["n1", "n2"]  # the list's order: created_at


def test_a_post_row_says_what_the_list_says_in_words_and_utc8(ops, posts):
    rows = csv_rows(ops.get(POSTS + "export/csv/", {"q": "needle"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert rows[0] == ["campaign", "post ID", "trader UID", "nickname", "created at", "verdict", "score", "moderation", "likes", "comments",
                       "shares", "views", "deleted", "text"]  # fmt: skip
    n1, n2 = rows[1:]
    post = Post.objects.get(post_id="n1")
    assert n1[:13] == [posts.slug, "n1", "12", "needle", "2026-02-14 12:00:00 UTC+8", post.get_verdict_display(), str(post.score), "none",
                       "7", "0", "0", "1200", "no"]  # fmt: skip
    assert n1[13] == TRADING_TEXT and n2[4] == "2026-02-15 09:30:05 UTC+8" and n2[13].endswith(" 止损")  # the whole text


def test_formula_like_nicknames_and_texts_are_defused_in_the_csv(ops, posts):
    rows = csv_rows(ops.get(POSTS + "export/csv/", {"author__uid__exact": 11}))
    by_id = {row[1]: row for row in rows[1:]}
    assert {row[3] for row in rows[1:]} == {"'" + HYPERLINK}
    assert {post_id: by_id[post_id][13] for post_id in FORMULA_TEXTS} == {post_id: "'" + text for post_id, text in FORMULA_TEXTS.items()}
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_formula_like_nicknames_and_texts_are_string_cells_in_the_xlsx(ops, posts):
    sheet = xlsx_sheet(ops.get(POSTS + "export/xlsx/", {"author__uid__exact": 11}))
    rows = list(sheet.iter_rows())
    by_id = {row[1].value: row for row in rows[1:]}
    assert sorted(by_id) == ["f1", "f2", "f3", "f4"]
    for post_id, text in FORMULA_TEXTS.items():
        nickname, body = by_id[post_id][3], by_id[post_id][13]
        assert (nickname.value, nickname.data_type, nickname.quotePrefix) == (HYPERLINK, "s", True)  # shown as typed, never run
        assert (body.value, body.data_type, body.quotePrefix) == (text, "s", True)
    assert not [cell.coordinate for row in rows for cell in row if cell.data_type == "f"]
    uid, likes = by_id["f1"][2], by_id["f1"][8]
    assert (uid.value, uid.data_type, likes.value, likes.data_type) == (11, "n", 0, "n")  # figures stay numbers
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:N5" and rows[0][0].font.b


def test_a_chinese_reader_gets_chinese_headers_and_labels(ops, posts):
    rows = csv_rows(ops.get(POSTS + "export/csv/", {"q": "needle"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert rows[0] == [
        "活动",
        "帖子 ID",
        "交易员 UID",
        "昵称",
        "发布时间",
        "判定结果",
        "分数",
        "人工审核",
        "点赞数",
        "评论数",
        "分享数",
        "浏览数",
        "已删除",
        "正文",
    ]
    assert rows[1][5] == "合格" and rows[1][7] == "无" and rows[1][12] == "否"
    sheet = xlsx_sheet(ops.get(POSTS + "export/xlsx/", {"q": "needle"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert [cell.value for cell in next(sheet.iter_rows())][:3] == ["活动", "帖子 ID", "交易员 UID"]


def test_the_posts_list_links_its_exports_with_its_filters(ops, posts):
    html = ops.get(POSTS, {"verdict__exact": "qualified", "q": "needle", "p": 1}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for fmt in ("csv", "xlsx"):
        assert f'href="/admin/campaign/post/export/{fmt}/?verdict__exact=qualified&amp;q=needle"' in html
    assert "Export CSV" in html and "Export XLSX" in html


def test_an_unknown_filter_sends_ops_back_to_the_list_and_an_unknown_format_is_not_found(ops, posts):
    response = ops.get(POSTS + "export/csv/", {"no_such_field__exact": "1"})
    assert response.status_code == 302 and response["Location"] == POSTS + "?e=1"
    assert ops.get(POSTS + "export/pdf/").status_code == 404


def test_exports_need_the_view_permission_of_the_list(client, posts):
    staff = User.objects.create_user("staff", password="pw-staff-123456", is_staff=True)
    client.force_login(staff)
    enrolment = f"/admin/campaign/campaign/{posts.pk}/enrolment/export/csv/"
    assert client.get(POSTS + "export/csv/").status_code == 403
    assert client.get(POSTS + "export/xlsx/").status_code == 403
    assert client.get(enrolment).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_post"), Permission.objects.get(codename="view_campaign"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert len(csv_rows(client.get(POSTS + "export/csv/"))) - 1 == Post.objects.count()
    assert client.get(enrolment).status_code == 200
    client.logout()
    assert client.get(POSTS + "export/csv/").status_code == 302  # to the login page


@pytest.fixture
def enrolment(campaign):
    """11 and 14 ("needle") enrolled; 13 signed up without a registration; 15 a formula nickname, enrolled."""
    enrolled_trader(uid=11, nickname="ok_trader")
    enrolled_trader(uid=14, nickname="Needle")
    Signup.objects.create(campaign=campaign, trader=Trader.objects.create(uid=13, nickname="plain"), submitted_at=campaign.starts_at)
    enrolled_trader(uid=15, nickname="@SUM(1+1)")
    return campaign


def test_the_enrolment_file_follows_the_reason_filter_and_the_search(ops, enrolment):
    url = f"/admin/campaign/campaign/{enrolment.pk}/enrolment/export/"
    rows = csv_rows(ops.get(url + "csv/", HTTP_ACCEPT_LANGUAGE="en"))
    assert rows == [["UID", "nickname", "enrolment"], ["11", "ok_trader", "enrolled"], ["13", "plain", "no lead-trader registration"],
                    ["14", "Needle", "enrolled"], ["15", "'@SUM(1+1)", "enrolled"]]  # fmt: skip
    assert [row[0] for row in csv_rows(ops.get(url + "csv/", {"reason": "enrolled"}))[1:]] == ["11", "14", "15"]
    assert [row[0] for row in csv_rows(ops.get(url + "csv/", {"reason": "enrolled", "q": "needle"}))[1:]] == ["14"]
    assert [row[0] for row in csv_rows(ops.get(url + "csv/", {"q": "13"}))[1:]] == ["13"]
    sheet = xlsx_sheet(ops.get(url + "xlsx/", {"reason": "enrolled"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [["UID", "昵称", "参与资格"], [11, "ok_trader", "已具备参与资格"], [14, "Needle", "已具备参与资格"], [15, "@SUM(1+1)", "已具备参与资格"]]
    assert (sheet["B4"].data_type, sheet["B4"].quotePrefix) == ("s", True)


def test_the_enrolment_page_links_its_exports_with_its_reason_and_search(ops, enrolment):
    page = f"/admin/campaign/campaign/{enrolment.pk}/enrolment/"
    html = ops.get(page, {"reason": "enrolled", "q": "needle"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for fmt in ("csv", "xlsx"):
        assert f'href="{page}export/{fmt}/?reason=enrolled&amp;q=needle"' in html
    assert "<td>14</td>" in html and "<td>11</td>" not in html  # the page shows what its file holds
    assert ops.get(f"{page}export/ods/").status_code == 404
    assert ops.get("/admin/campaign/campaign/999999/enrolment/export/csv/").status_code == 404
