"""`Judging.rows` judges the rows judging reads (JUDGE_FIELDS) without building a `JudgeRow` each
(issue 17: a settlement judges a million posts): it must give exactly what `post_judgement` gives
the same post, and leave to it (None) the posts whose stored checks 4 and 5 do not apply."""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.qualification import lexicon_key
from campaign.services.judging import JUDGE_FIELDS, JudgeRow, Judging, campaign_lexicon, post_judgement

AUTHORS = {11: True, 12: False}  # author id -> enrolled


@st.composite
def judge_rows(draw, *, key: str, starts: datetime, ends: datetime):
    """A JUDGE_FIELDS row: any instant around the window, every moderation, stored facts of this
    lexicon, of another one, or missing."""
    created = starts + timedelta(seconds=draw(st.integers(-86_400 * 3, int((ends - starts).total_seconds()) + 86_400 * 3)))
    facts = draw(st.sampled_from(["stored", "stored", "stored", "other lexicon", "missing"]))
    length = None if facts == "missing" else draw(st.integers(0, 400))
    trading = None if facts == "missing" else draw(st.booleans())
    link = draw(st.sampled_from([(None, None), (5, None), (None, 7)]))
    values = {
        "id": draw(st.integers(1, 10**9)),
        "author_id": draw(st.sampled_from(sorted(AUTHORS))),
        "created_at": created,
        "deleted": draw(st.booleans()),
        "moderation": draw(st.sampled_from(["", "approved", "rejected"])),
        "duplicate_of_id": link[0],
        "duplicate_of_reference_id": link[1],
        "verdict": draw(st.sampled_from(["pending", "qualified", "duplicate"])),
        "score": draw(st.integers(0, 50)),
        "text_length": length,
        "trading_term": trading,
        "lexicon_key": key if facts == "stored" else ("0" * 16 if facts == "other lexicon" else ""),
        "likes": draw(st.integers(0, 10**6)),
        "comments": draw(st.integers(0, 10**4)),
        "shares": draw(st.integers(0, 10**4)),
        "views": draw(st.integers(0, 10**8)),
        "judged_at": draw(st.sampled_from([None, ends])),
    }
    return tuple(values[name] for name in JUDGE_FIELDS)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_rows_are_judged_as_post_judgement_judges_each_post(campaign, data):
    key = lexicon_key(campaign_lexicon(campaign))
    rows = data.draw(st.lists(judge_rows(key=key, starts=campaign.starts_at, ends=campaign.ends_at), min_size=1, max_size=40))
    judging = Judging(campaign)
    judged = judging.rows(rows, AUTHORS)
    assert len(judged) == len(rows)
    for row, verdict in zip(rows, judged):
        post = JudgeRow(row[0], 900 + row[1], *row[2:])
        if post.text_length is None or post.trading_term is None or post.lexicon_key != key:
            assert verdict is None  # left to `Judging.post`, which reads the text
            continue
        # A fresh memo each time: the batch's shared memo must not change an answer.
        assert verdict == post_judgement(campaign, post, enrolled=AUTHORS[row[1]], lexicon=campaign_lexicon(campaign))


@pytest.mark.django_db
def test_rows_of_a_stored_post_give_its_stored_verdict(campaign):
    """One row of each kind, spelled out: the hypothesis test above compares the two paths, this
    one pins the answers themselves."""
    key = lexicon_key(campaign_lexicon(campaign))
    inside = campaign.starts_at + timedelta(days=1)
    base = dict(
        zip(
            JUDGE_FIELDS,
            (1, 11, inside, False, "", None, None, "pending", 0, 300, True, key, 3, 1, 0, 250, None),
        )
    )

    def row(**changes):
        return tuple({**base, **changes}[name] for name in JUDGE_FIELDS)

    rows = [
        row(),
        row(author_id=12),
        row(created_at=campaign.ends_at),
        row(deleted=True),
        row(text_length=10),
        row(trading_term=False),
        row(duplicate_of_id=4),
        row(moderation="rejected"),
        row(moderation="approved", duplicate_of_id=4, text_length=10),
        row(lexicon_key="f" * 16),
        row(likes=10**6),
    ]
    judged = Judging(campaign).rows(rows, AUTHORS)
    score = 1 + 3 + 2 * 1 + 250 // 100
    assert judged == [
        ("qualified", score),
        ("not_enrolled", score),
        ("outside_window", score),
        ("deleted", score),
        ("too_short", score),
        ("not_trading", score),
        ("duplicate", score),
        ("rejected", score),
        ("qualified", score),
        None,
        ("qualified", campaign.score_cap),
    ]
