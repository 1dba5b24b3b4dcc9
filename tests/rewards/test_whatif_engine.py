"""The what-if preview on the judging engine: its verdicts and duplicate links are those of the
in-memory path it replaced (model instances with their texts, links re-decided from the texts by
`earlier_duplicates`), kept here as the reference, on a corpus with near-duplicates (copies dated
before their source, exact copies, a reference text), under a threshold change, a lexicon change,
an index that is behind and facts stored under another lexicon."""

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from campaign.models import Campaign, Post, ReferenceText
from campaign.near_duplicates import earlier_duplicates, post_order, reference_order
from campaign.selectors import enrolment_map
from campaign.services import posts_ingest
from campaign.services.judging import campaign_lexicon, post_judgement
from campaign.services.post_records import ENGAGEMENT
from campaign.services.reference_texts import reference_texts_import
from core.reading import item_records
from rewards.services import settle_campaign
from rewards.services.whatif.changes import campaign_with_changes
from rewards.services.whatif.compare import scores_changed, verdict_changes
from rewards.services.whatif.engine import Side, judged_batches, links_decide
from rewards.services.whatif.preview import whatif_preview
from tests.factories import post_item
from tests.rewards.scenario import BODY

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
START = datetime.fromisoformat("2026-02-13T00:00:00+08:00")
EXTRA = (
    " Watching closely.",  # Jaccard about 0.86 with its source
    " Watching closely, sizing small.",
    " I will add on a retest of the level and trim into strength if momentum fades later.",
)
REFERENCE = "Copy trading 101: never risk more than two percent of the account on a single futures position, and always set a stop loss before the entry."


def near_duplicate_corpus(campaign):
    """Edits of the scenario's texts at several distances (some dated before their source), exact
    copies, copies of a reference text, deleted and out-of-window posts, by enrolled and other authors."""
    items, n = [], 0
    for i, body in enumerate(BODY):
        for j, extra in enumerate(EXTRA):
            for k, uid in enumerate((1001, 1002, 1003, 1004, 1005)):
                n += 1
                # Every fourth one is dated before the scenario's posts: the source is then the copy.
                created = START + timedelta(hours=n) if n % 4 else START - timedelta(days=2, hours=n)
                text = body + extra if k % 2 else extra.strip() + " " + body
                items.append(post_item(f"e{n:03d}", uid, created.isoformat(), text, likes=n % 7, views=100 * (n % 5), deleted=n % 13 == 0))
        items.append(post_item(f"x{i}", 1002, (START + timedelta(days=3, minutes=i)).isoformat(), body, comments=1))  # an exact copy
    items.append(post_item("r1", 1001, (START + timedelta(days=1)).isoformat(), REFERENCE + " Watching closely.", likes=3))
    items.append(post_item("r2", 1003, (START + timedelta(days=1, hours=1)).isoformat(), REFERENCE, likes=2))
    items.append(post_item("late", 1001, "2026-03-02T10:00:00+08:00", BODY[1] + EXTRA[0]))
    assert posts_ingest(campaign=campaign, records=item_records(items)).ok
    assert reference_texts_import(campaign=campaign, data=REFERENCE.encode()).ok
    return campaign


@pytest.fixture
def corpus(loaded):
    near_duplicate_corpus(loaded)
    settle_campaign(campaign=loaded, at=DUE)  # every verdict and link current, as after a settlement
    return Campaign.objects.get(pk=loaded.pk)


# --- the in-memory path the engine replaced, as it was ------------------------------------------


def old_posts(campaign):
    return list(
        Post.objects.filter(campaign=campaign)
        .select_related("author")
        .only("id", "post_id", "author__uid", "created_at", "text", "deleted", "moderation", "duplicate_of", "duplicate_of_reference", "index_stale", "text_length", "trading_term", "lexicon_key", *ENGAGEMENT)
        .order_by("pk")
    )  # fmt: skip


def old_links(campaign, posts, threshold):
    entries = [(("ref", pk), text, reference_order(pk)) for pk, text in ReferenceText.objects.filter(campaign=campaign).values_list("id", "text")]
    entries += [(("post", p.pk), p.text, post_order(p.created_at, p.post_id)) for p in posts]
    links = {}
    for (kind, pk), (target_kind, target) in earlier_duplicates(entries, threshold=Fraction(threshold)).items():
        if kind == "post":
            links[pk] = (target, None) if target_kind == "post" else (None, target)
    return links


def old_verdicts(config, posts, links):
    lexicon = campaign_lexicon(config)
    enrolled = enrolment_map(campaign=config, uids={p.author.uid for p in posts})
    verdicts = {}
    for post in posts:
        post.duplicate_of_id, post.duplicate_of_reference_id = links.get(post.pk, (None, None))
        verdicts[post.pk] = post_judgement(config, post, enrolled=enrolled[post.author.uid].enrolled, lexicon=lexicon)
    return verdicts


def stored_links(campaign):
    return {
        pk: (dup, ref)
        for pk, dup, ref in Post.objects.filter(campaign=campaign).values_list("id", "duplicate_of_id", "duplicate_of_reference_id")
        if dup or ref
    }


def engine_verdicts(campaign, sides, size):
    found = [{} for _ in sides]
    for batch in judged_batches(campaign=campaign, sides=sides, size=size):
        for side, judged in zip(found, batch.judged):
            side.update((row[0], verdict) for row, verdict in zip(batch.rows, judged))
    return found


# --- the comparisons ----------------------------------------------------------------------------


def test_the_corpus_has_near_duplicates_of_every_kind(corpus):
    links = stored_links(corpus)
    assert sum(1 for dup, _ref in links.values() if dup) > 40 and any(ref for _dup, ref in links.values())
    later_source = [p for p in Post.objects.filter(campaign=corpus, post_id__startswith="a").exclude(duplicate_of=None)]
    assert later_source, "a scenario post is a copy of an edit dated before it"


@pytest.mark.parametrize("threshold", ["0.8", "0.801", "0.85", "0.9", "1"])
def test_links_from_the_stored_signatures_are_those_decided_from_the_texts(corpus, threshold):
    (links,) = links_decide(campaign=corpus, thresholds=[Decimal(threshold)])
    assert links.as_dict() == old_links(corpus, old_posts(corpus), Decimal(threshold))
    if threshold == "0.8":
        assert links.as_dict() == stored_links(corpus)


@pytest.mark.parametrize("threshold", ["0.8", "0.801", "0.85", "0.9", "1"])
def test_a_stricter_threshold_decided_from_the_stored_links_gives_the_links_decided_from_the_texts(corpus, threshold):
    """The preview of a stricter threshold decides only the pairs the stored (current) links leave
    possible; the answer is the full one. Also through a looser threshold decided first."""
    expected = old_links(corpus, old_posts(corpus), Decimal(threshold))
    (links,) = links_decide(campaign=corpus, thresholds=[Decimal(threshold)], stored=corpus.duplicate_threshold)
    assert links.as_dict() == expected
    _first, links = links_decide(campaign=corpus, thresholds=[Decimal("0.8"), Decimal(threshold)])
    assert links.as_dict() == expected


def test_a_looser_threshold_is_decided_whole_whatever_links_are_stored(corpus):
    expected = old_links(corpus, old_posts(corpus), Decimal("0.6"))
    stored = stored_links(corpus)
    assert any(stored.get(pk) != link for pk, link in expected.items())  # looser: links move earlier
    (links,) = links_decide(campaign=corpus, thresholds=[Decimal("0.6")], stored=corpus.duplicate_threshold)
    assert links.as_dict() == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"duplicate_threshold": "0.9"},
        {"cjk_terms": ["合约"], "latin_terms": ["long", "short", "stop loss"]},
        {"duplicate_threshold": "0.85", "cjk_terms": ["止损"], "min_length": 120, "score_cap": 7},
    ],
)
@pytest.mark.parametrize("batch", [7, 5000])
def test_the_engine_judges_every_post_as_the_in_memory_path_did(corpus, changes, batch):
    proposed = campaign_with_changes(campaign=corpus, changes=changes)
    posts = old_posts(corpus)
    now_old = old_verdicts(corpus, posts, stored_links(corpus))
    proposed_links = old_links(corpus, posts, proposed.duplicate_threshold)
    new_old = old_verdicts(proposed, posts, proposed_links)
    relinked = proposed.duplicate_threshold != corpus.duplicate_threshold
    (links,) = links_decide(campaign=corpus, thresholds=[proposed.duplicate_threshold]) if relinked else (None,)
    now_new, new_new = engine_verdicts(corpus, [Side(corpus), Side(proposed, links)], batch)
    assert now_new == now_old and new_new == new_old
    assert verdict_changes(now_old, new_old), "the change moves some verdicts"
    preview = whatif_preview(campaign=corpus, changes=changes, at=DUE)
    assert preview.verdict_changes == verdict_changes(now_old, new_old)
    assert preview.scores_changed == scores_changed(now_old, new_old)


def test_an_index_behind_and_facts_of_another_lexicon_are_judged_from_the_signatures_and_texts(corpus):
    """Posts left stale by a crash and facts stored under an older lexicon: both sides are decided
    afresh, the links from the signatures and checks 4 and 5 from the texts, as before."""
    pks = list(Post.objects.filter(campaign=corpus).order_by("pk").values_list("pk", flat=True))
    Post.objects.filter(pk__in=pks[::3]).update(index_stale=True)
    Post.objects.filter(pk__in=pks[1::4]).update(lexicon_key="an-older-one", trading_term=False)
    Post.objects.filter(pk__in=pks[2::5]).update(duplicate_of=None, duplicate_of_reference=None)  # links lost with the index
    corpus.refresh_from_db()
    proposed = campaign_with_changes(campaign=corpus, changes={"duplicate_threshold": "0.9", "cjk_terms": ["杠杆"]})
    posts = old_posts(corpus)
    current_links, proposed_links = links_decide(campaign=corpus, thresholds=[corpus.duplicate_threshold, proposed.duplicate_threshold])
    assert current_links.as_dict() == old_links(corpus, posts, corpus.duplicate_threshold) != stored_links(corpus)
    assert proposed_links.as_dict() == old_links(corpus, posts, proposed.duplicate_threshold)
    now_new, new_new = engine_verdicts(corpus, [Side(corpus, current_links), Side(proposed, proposed_links)], 11)
    assert now_new == old_verdicts(corpus, posts, current_links.as_dict())
    assert new_new == old_verdicts(proposed, posts, proposed_links.as_dict())


def test_progress_moves_while_the_signatures_are_read_the_links_decided_and_the_posts_judged(corpus):
    calls = []
    whatif_preview(campaign=corpus, changes={"duplicate_threshold": "0.9"}, at=DUE, progress=lambda done, total: calls.append((done, total)))
    posts = Post.objects.filter(campaign=corpus).count()
    done = [d for d, _t in calls]
    assert calls[0] == (0, 3 * posts + 2) and calls[-1] == (3 * posts + 2, 3 * posts + 2) and done == sorted(done)
    # The read of the signatures (half the links step), the decision, the judging, each settlement.
    assert {posts // 2, posts, 3 * posts, 3 * posts + 1} <= set(done)
