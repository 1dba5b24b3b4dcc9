"""The Chinese catalogue is complete: every entry translated, none fuzzy, each translation keeping
its message's placeholders, and every message our code and templates mark for translation present.

The last check runs Django's own `makemessages` on a view of the project whose only locale
directory is a temporary copy of the catalogue, so the result is exactly what the next
`makemessages -l zh_Hans` would write, and the real catalogue is never touched.
"""

import ast
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from campaign.models import Post
from rewards.models import ReviewItem, Reward
from rewards.review_reasons import BY_SETTLEMENT, NOTE_WITHDRAWN, REASON_COMPUTES, review_reason_display, review_reason_write
from rewards.services import rewards_approve, settle_campaign
from tests.rewards.scenario import scenario_load

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# %(name)s, %s, %d ... but not a literal "%%".
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifgeExXoRr%]")


def po_entries(path):
    """The entries of a .po file as dicts: flags, msgid, msgid_plural, msgstr (msgstr[n] as
    msgstr_n), obsolete entries (#~) left out. gettext's own format, read without polib."""
    entries, entry, key = [], None, None

    def close():
        if entry is not None and ("msgid" in entry):
            entries.append(entry)

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            close()
            entry, key = None, None
            continue
        if line.startswith("#~"):
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            word, _, rest = line.partition(" ")
            key = word.replace("[", "_").rstrip("]")
            entry[key] = ast.literal_eval(rest)
    return entries


def translations(entry):
    return [value for key, value in entry.items() if key == "msgstr" or key.startswith("msgstr_")]


def placeholders(text):
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def messages(entries):
    return [e for e in entries if e["msgid"]]


def test_every_message_of_the_catalogue_is_translated_and_none_is_fuzzy():
    entries = messages(po_entries(CATALOGUE))
    assert len(entries) > 900, "the catalogue was not read"
    untranslated = [e["msgid"] for e in entries if not all(t.strip() for t in translations(e))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"{len(untranslated)} messages without a translation: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations to check: {fuzzy[:20]}"


def test_every_translation_keeps_the_placeholders_of_its_message():
    wrong = []
    for e in messages(po_entries(CATALOGUE)):
        if "python-format" not in e["flags"]:
            continue
        source = e.get("msgid_plural", e["msgid"])
        # An empty or fuzzy translation is never used (the tests above refuse them).
        wrong += [(e["msgid"], t) for t in translations(e) if t and "fuzzy" not in e["flags"] and set(placeholders(t)) != set(placeholders(source))]
    assert not wrong, f"translations whose placeholders differ from the message's: {wrong[:10]}"


def test_the_placeholder_check_sees_a_missing_or_renamed_placeholder():
    assert placeholders("%(n)s rewards of %(asset)s, 100%%") == ["%(asset)s", "%(n)s"]
    assert placeholders("%(n)s 个 %(assets)s 奖励") != placeholders("%(n)s rewards of %(asset)s")


def test_the_reader_sees_an_empty_a_fuzzy_and_a_plural_entry(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#: a.py:1\nmsgid "open"\nmsgstr ""\n\n'
        '#, fuzzy, python-format\n#| msgid "old"\nmsgid ""\n"%(n)s items"\nmsgstr "%(n)s 项"\n\n'
        'msgid "one"\nmsgid_plural "%(n)s many"\nmsgstr[0] "%(n)s 个"\n\n'
        '#~ msgid "gone"\n#~ msgstr "没了"\n',
        encoding="utf-8",
    )
    empty, fuzzy, plural = messages(po_entries(po))
    assert (empty["msgid"], empty["msgstr"]) == ("open", "")
    assert fuzzy["msgid"] == "%(n)s items" and fuzzy["flags"] == {"fuzzy", "python-format"}
    assert translations(plural) == ["%(n)s 个"] and plural["msgid_plural"] == "%(n)s many"


def _missing_gettext():
    reason = "makemessages needs GNU gettext (apt-get install gettext)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def test_every_message_the_code_and_templates_mark_is_in_the_catalogue(tmp_path, settings):
    if not all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq")):
        _missing_gettext()
    # The project seen through symlinks, with a copy of the catalogue as its only locale directory.
    view = tmp_path / "project"
    view.mkdir()
    for child in ROOT.iterdir():
        if child.name != "locale" and not child.name.startswith("."):
            (view / child.name).symlink_to(child)
    copy = view / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(CATALOGUE, copy)
    settings.LOCALE_PATHS = [view / "locale"]
    here = os.getcwd()
    os.chdir(view)
    try:
        call_command("makemessages", locale=["zh_Hans"], symlinks=True, no_obsolete=True, verbosity=0)
    finally:
        os.chdir(here)
    merged = messages(po_entries(copy))
    known = {e["msgid"] for e in messages(po_entries(CATALOGUE))}
    missing = sorted({e["msgid"] for e in merged} - known)
    assert len(merged) > 900, "makemessages found no messages"
    assert not missing, f"{len(missing)} messages marked in the code are not in the catalogue: {missing[:20]}"


DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def visible_text(html):
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", html[html.index("<body") :], flags=re.S)
    return [line.strip() for line in re.sub(r"<[^>]+>", "\n", body).splitlines() if line.strip()]


@pytest.mark.django_db
def test_the_chinese_admin_shows_review_reasons_events_and_periods_in_chinese(campaign):
    """What the settlement and the ledger store as English words or codes (a review item's reason,
    an event's action and states, the whole-campaign period "ALL") reads in Chinese in the admin."""
    scenario_load(campaign)
    user = User.objects.create_superuser("root", password="pw-root-123456")
    settle_campaign(campaign=campaign, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=user)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=campaign, at=DUE)
    gone = ReviewItem.objects.get(reward__trader__uid=1001, reward__kind=Reward.Kind.LEADERBOARD)
    assert gone.reason == f"settlement #{gone.settlement_run_id} no longer gives this reward; the approved reward holds {gone.stored_amount}"
    client = Client()
    client.force_login(user)

    def page(url):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200
        return visible_text(response.content.decode())

    item_page = page(f"/admin/rewards/reviewitem/{gone.pk}/change/")
    assert f"结算 #{gone.settlement_run_id} 不再给出该奖励；该奖励（已审批）账本中为 {gone.stored_amount}" in item_page
    assert not [line for line in item_page if "no longer gives" in line]
    reward_page = page(f"/admin/rewards/reward/{gone.reward_id}/change/")
    assert {"已审批", "已计算"} <= set(reward_page)
    assert not {"approve", "approved", "calculated"} & set(reward_page)
    for listing in ("reward", "reviewitem", "rewardevent"):
        words = set(page(f"/admin/rewards/{listing}/"))
        assert not {"ALL", "approve", "approved", "calculated"} & words, (listing, {"ALL", "approve", "approved", "calculated"} & words)
    assert "整个活动" in page("/admin/rewards/reward/")


def test_a_stored_settlement_text_reads_in_chinese_and_any_other_text_as_stored():
    written = review_reason_write(REASON_COMPUTES, run=7, amount="12.50", asset="USDT", state="paid", held="40.00")
    assert written == "settlement #7 now computes 12.50 USDT; the paid reward holds 40.00"
    with translation.override("zh-hans"):
        assert review_reason_display(written) == "结算 #7 现算出 12.50 USDT；该奖励（已发放）账本中为 40.00"
        assert review_reason_display(review_reason_write(NOTE_WITHDRAWN, run=8, amount="0.00", asset="USDT")) == "结算 #8 算出 0.00 USDT，与奖励账本金额一致"
        assert review_reason_display(review_reason_write(BY_SETTLEMENT, run=8)) == "结算 #8"
        assert review_reason_display("rank 1 now, see the sheet") == "rank 1 now, see the sheet"
        assert review_reason_display("settlement #7 now computes 1 USDT; the odd reward holds 2") == "settlement #7 now computes 1 USDT; the odd reward holds 2"
    assert review_reason_display(written) == written
