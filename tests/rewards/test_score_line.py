"""A reward breakdown's post line scores a post with the rule (`post_score`), the cap shown apart."""

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from campaign.qualification import post_score
from rewards.selectors.breakdown import _score_line
from rewards.selectors.posts import PostLine

INT = st.integers(min_value=0, max_value=2**31 - 1)  # PositiveIntegerField
BIG = st.integers(min_value=0, max_value=2**63 - 1)  # PositiveBigIntegerField (views)


@given(likes=INT, comments=INT, shares=INT, views=BIG, cap=st.integers(min_value=1, max_value=10**6), stored=st.integers(min_value=0, max_value=10**6))
def test_the_breakdown_line_scores_a_post_as_the_rule_does(likes, comments, shares, views, cap, stored):
    post = PostLine(post_id="p1", created_at=datetime(2026, 2, 14, tzinfo=timezone.utc), text="", verdict="qualified", score=stored,
                    approved_by_ops=False, featured_day=None, homepage=False, likes=likes, comments=comments, shares=shares, views=views)  # fmt: skip
    line = _score_line(post, post.post_id, stored, cap)
    assert line.raw == 1 + likes + 2 * comments + 3 * shares + views // 100  # the formula the page spells out
    assert min(line.raw, line.cap) == post_score(likes=likes, comments=comments, shares=shares, views=views, cap=cap)
    assert line.capped == (line.raw > cap)
    assert line.changed == (post_score(likes=likes, comments=comments, shares=shares, views=views, cap=cap) != stored)
