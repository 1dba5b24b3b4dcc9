"""The campaign form without JSON (issue 18): trading terms one a line, tier amounts one a line with
their ranks, stored exactly as before (lists of strings, tiers as "4000.00"), judged by the
model's own validation, and the same fields on the what-if page."""

from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import LogEntry

from campaign import terms
from campaign.history import campaign_change_record
from campaign.models import TERMS_MESSAGES, TIERS_MESSAGES, Campaign, default_cjk_terms, default_latin_terms, default_tiers
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


class FormValues(HTMLParser):
    """The values a browser would send for the page's main form: inputs, textareas, selects."""

    def __init__(self):
        super().__init__()
        self.values, self.textareas = {}, {}
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "button", "file"}:
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.values[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = name
            self.textareas[name] = ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.textareas[self._textarea] += data


def page_form(client, campaign) -> FormValues:
    page = client.get(change_url(campaign))
    assert page.status_code == 200
    parser = FormValues()
    parser.feed(page.content.decode())
    return parser


def change_url(campaign) -> str:
    return f"/admin/campaign/campaign/{campaign.pk}/change/"


def post_form(client, campaign, **typed):
    """The change form as the page shows it, with `typed` over it, posted."""
    form = page_form(client, campaign)
    data = {**form.values, **{name: text.removeprefix("\n") for name, text in form.textareas.items()}, **typed}
    return client.post(change_url(campaign), data)


def field_errors(response, name) -> list[str]:
    return list(response.context["adminform"].form.errors.get(name, []))


def test_the_change_page_shows_terms_and_tiers_as_lines_with_ranks_not_json(admin_client):
    campaign = CampaignFactory()
    textareas = page_form(admin_client, campaign).textareas
    assert textareas["latin_terms"].strip().splitlines() == list(terms.DEFAULT_LATIN_TERMS)
    assert textareas["cjk_terms"].strip().splitlines() == list(terms.DEFAULT_CJK_TERMS)
    assert textareas["leaderboard_tiers"].strip().splitlines()[:3] == ["1: 4000.00", "2: 3000.00", "3: 2500.00"]
    assert textareas["leaderboard_tiers"].strip().splitlines()[-1] == "10: 1100.00"
    assert not any(mark in text for text in textareas.values() for mark in ('["', "[", '"'))


def test_posting_the_page_back_as_shown_changes_nothing_and_logs_nothing(admin_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(admin_client, campaign)
    assert response.status_code == 302, field_errors(response, "__all__")
    stored = Campaign.objects.get(pk=campaign.pk)
    assert (stored.latin_terms, stored.cjk_terms, stored.leaderboard_tiers) == (default_latin_terms(), default_cjk_terms(), default_tiers())
    assert not LogEntry.objects.exists()


def test_terms_typed_as_lines_are_stored_as_the_list_trimmed_and_without_blank_lines(admin_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(admin_client, campaign, latin_terms="  long \r\n\r\nfunding rate\n   \nstop loss\n", cjk_terms="做多\n\n 合约 ")
    assert response.status_code == 302
    stored = Campaign.objects.get(pk=campaign.pk)
    assert (stored.latin_terms, stored.cjk_terms) == (["long", "funding rate", "stop loss"], ["做多", "合约"])
    (entry,) = LogEntry.objects.all()  # one audit entry, by campaign_update, naming only what changed
    assert [c["field"] for c in campaign_change_record(entry.change_message)["changes"]] == ["latin_terms", "cjk_terms"]


def test_tiers_typed_as_lines_are_stored_as_two_decimal_strings_exactly_as_settlement_reads_them(admin_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(admin_client, campaign, leaderboard_tiers="1: 5000\n2：3000.5\n\n 2500.00 \n4: 0\n")
    assert response.status_code == 302
    stored = Campaign.objects.values_list("leaderboard_tiers", flat=True).get(pk=campaign.pk)  # the JSON as the database holds it
    assert stored == ["5000.00", "3000.50", "2500.00", "0.00"]
    assert all(type(amount) is str for amount in stored)
    page = page_form(admin_client, campaign).textareas["leaderboard_tiers"]
    assert page.strip().splitlines() == ["1: 5000.00", "2: 3000.50", "3: 2500.00", "4: 0.00"]


def test_the_default_tiers_typed_without_ranks_are_no_change(admin_client):
    campaign = CampaignFactory()
    response = post_form(admin_client, campaign, leaderboard_tiers="\n".join(str(amount) for amount in terms.DEFAULT_TIERS))
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).leaderboard_tiers == default_tiers() and not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1: 100\n2: 200", TIERS_MESSAGES["increasing"]),
        ("4,000.00\n3,000.00", TIERS_MESSAGES["not_amount"]),
        ("100\n-5", TIERS_MESSAGES["negative"]),
        ("100.005", TIERS_MESSAGES["not_cents"]),
        ("1: 4000.00\n3: 2500.00", "The line “3: 2500.00” says rank 3 but is the amount of rank 2"),
        ("\n \n", "This field is required."),
    ],
)
def test_invalid_tier_lines_show_the_error_on_the_field_and_store_nothing(admin_client, typed, message):
    campaign = CampaignFactory()
    response = post_form(admin_client, campaign, leaderboard_tiers=typed)
    assert response.status_code == 200
    assert any(str(message) in error for error in field_errors(response, "leaderboard_tiers")), field_errors(response, "leaderboard_tiers")
    assert Campaign.objects.get(pk=campaign.pk).leaderboard_tiers == default_tiers() and not LogEntry.objects.exists()
    if typed.strip():
        assert typed in response.content.decode()  # the textarea keeps what ops typed, to correct it


def test_invalid_term_lines_show_the_model_message_on_the_field(admin_client):
    campaign = CampaignFactory()
    response = post_form(admin_client, campaign, latin_terms="long\nfunding  rate")
    assert response.status_code == 200
    assert field_errors(response, "latin_terms") == [str(TERMS_MESSAGES["spacing"])]
    assert Campaign.objects.get(pk=campaign.pk).latin_terms == default_latin_terms()


def test_a_new_campaign_takes_its_lists_from_lines(admin_client):
    page = admin_client.get("/admin/campaign/campaign/add/")
    parser = FormValues()
    parser.feed(page.content.decode())
    assert parser.textareas["leaderboard_tiers"].strip().startswith("1: 4000.00\n2: 3000.00")
    data = {**parser.values, **{name: text.removeprefix("\n") for name, text in parser.textareas.items()}}
    data.update(
        name="Spring", slug="spring", starts_at_0="2026-05-01", starts_at_1="10:00:00", ends_at_0="2026-05-10", ends_at_1="10:00:00",
        latin_terms="moon shot", cjk_terms="拉盘", leaderboard_tiers="1: 700\n2: 300",
    )  # fmt: skip
    response = admin_client.post("/admin/campaign/campaign/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    created = Campaign.objects.get(slug="spring")
    assert (created.latin_terms, created.cjk_terms, created.leaderboard_tiers) == (["moon shot"], ["拉盘"], ["700.00", "300.00"])


def test_the_chinese_page_shows_the_help_in_chinese(admin_client):
    campaign = CampaignFactory()
    page = admin_client.get(change_url(campaign), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "每行一个词，按整词匹配" in page
    assert "每行一个金额，从第 1 名开始" in page
    assert "One term a line" not in page and "One amount a line" not in page


def test_the_whatif_page_shows_and_takes_the_same_lines(admin_client):
    campaign = CampaignFactory()
    page = admin_client.get(f"/admin/campaign/campaign/{campaign.pk}/whatif/")
    form = page.context["form"]
    assert form["leaderboard_tiers"].value().startswith("1: 4000.00\n2: 3000.00\n")
    assert form["latin_terms"].value().splitlines() == list(terms.DEFAULT_LATIN_TERMS)
    assert type(form.fields["leaderboard_tiers"]) is type(page_form_field(admin_client, campaign, "leaderboard_tiers"))
    response = admin_client.post(
        f"/admin/campaign/campaign/{campaign.pk}/whatif/",
        {
            "at": "2026-02-26T00:00:00+08:00",
            "_preview": "1",
            **{name: "" if form[name].value() is None else form[name].value() for name in form.fields if name != "at"},
            "leaderboard_tiers": "1: 10\n3: 5",
        },
    )
    assert response.status_code == 400
    assert any("says rank 3 but is the amount of rank 2" in error for error in response.context["form"].errors["leaderboard_tiers"])


def page_form_field(client, campaign, name):
    return client.get(change_url(campaign)).context["adminform"].form.fields[name]
