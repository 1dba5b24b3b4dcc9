"""Checks 4 and 5 computed once at ingest: judging reads the stored facts, not the texts, and
recomputes them only under another lexicon."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from campaign.models import Campaign, Post
from campaign.qualification import Lexicon, PostFacts, judge, lexicon_key, text_facts
from campaign.services import posts_import_file, posts_judge
from campaign.services.judging import campaign_lexicon
from tests.factories import OTHER_TEXTS, enrolled_trader, post_item

pytestmark = pytest.mark.django_db
NOODLES = "A review of noodle shops in Shanghai, with prices and opening hours for each of them, and a kimchi note. " * 2


def jsonl(*items):
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def text_reads(queries):
    return [q["sql"] for q in queries.captured_queries if '"campaign_post"."text"' in q["sql"]]


def test_ingest_stores_the_facts_and_judging_never_reads_a_text_again(campaign):
    enrolled_trader(uid=1)
    assert posts_import_file(campaign=campaign, data=jsonl(post_item("ok", 1), post_item("food", 1, text=NOODLES))).ok
    key = lexicon_key(campaign_lexicon(campaign))
    ok, food = Post.objects.get(post_id="ok"), Post.objects.get(post_id="food")
    assert (ok.trading_term, ok.lexicon_key, food.trading_term) == (True, key, False)
    assert ok.text_length == text_facts(ok.text, campaign_lexicon(campaign))[0]
    Post.objects.update(verdict="pending")  # force every verdict to be decided again
    with CaptureQueriesContext(connection) as queries:
        assert posts_judge(campaign=campaign) == 2
    assert text_reads(queries) == []
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"ok": "qualified", "food": "not_trading"}


def test_a_lexicon_change_recomputes_check_5_from_the_texts(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("food", 1, text=NOODLES)))
    assert Post.objects.get().verdict == "not_trading"
    Campaign.objects.filter(pk=campaign.pk).update(latin_terms=[*campaign.latin_terms, "kimchi"])
    campaign.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        assert posts_judge(campaign=campaign) == 1
    assert len(text_reads(queries)) == 1  # one batch read of the texts whose facts were stale
    post = Post.objects.get()
    assert (post.verdict, post.trading_term, post.lexicon_key) == ("qualified", True, lexicon_key(campaign_lexicon(campaign)))
    with CaptureQueriesContext(connection) as queries:
        assert posts_judge(campaign=campaign) == 0
    assert text_reads(queries) == []


def test_posts_stored_before_the_facts_existed_get_them_at_the_next_judging(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("ok", 1), post_item("short", 1, text="BTC long " + "x" * 80)))
    Post.objects.update(text_length=None, trading_term=None, lexicon_key="", verdict="pending")
    posts_judge(campaign=campaign)
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"ok": "qualified", "short": "too_short"}
    assert not Post.objects.filter(text_length__isnull=True).exists()


def test_a_changed_text_gets_new_facts_and_an_unchanged_one_keeps_them(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, text=NOODLES)))
    assert Post.objects.get().verdict == "not_trading"
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, text=OTHER_TEXTS[0])))
    assert (Post.objects.get().trading_term, Post.objects.get().verdict) == (True, "qualified")


texts = st.text(alphabet=st.sampled_from(list("abc $BTC long stop 做多止损 https://x.y/z \n\t")), max_size=300)
lexicons = st.builds(
    lambda latin, cjk: Lexicon(latin_terms=tuple(latin), cjk_terms=tuple(cjk)),
    st.lists(st.sampled_from(["long", "stop", "btc", "abc"]), max_size=3, unique=True),
    st.lists(st.sampled_from(["做多", "止损"]), max_size=2, unique=True),
)


@hsettings(max_examples=200, deadline=None)
@given(text=texts, lexicon=lexicons, min_length=st.integers(0, 120), moderation=st.sampled_from([None, "approved", "rejected"]))
def test_judging_from_the_stored_facts_equals_judging_from_the_text(text, lexicon, min_length, moderation):
    length, trading, _ = text_facts(text, lexicon)
    common = {"in_window": True, "enrolled": True, "deleted": False, "is_duplicate": False, "moderation": moderation}
    assert judge(PostFacts(text="", length=length, trading=trading, **common), min_length=min_length, lexicon=lexicon) == judge(
        PostFacts(text=text, **common), min_length=min_length, lexicon=lexicon
    )
