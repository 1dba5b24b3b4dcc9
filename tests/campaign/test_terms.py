"""The campaign's configuration (campaign/terms.py): the rulebook's defaults written once, the
rules a configured value must keep, and the leaderboard pool's size. Pure, no database."""

import ast
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from campaign import qualification, terms
from campaign.models import Campaign, default_cjk_terms, default_latin_terms, default_tiers
from campaign.terms import ConfigurationError, leaderboard_pool_size, tiers_from_config, validate_terms, validate_tiers
from rewards.rules import content_pool, first_post, leaderboard, traffic


def test_the_default_tiers_are_the_rulebooks_and_add_up_to_the_leaderboard_pool():
    assert [str(amount) for amount in terms.DEFAULT_TIERS] == [
        "4000.00", "3000.00", "2500.00", "2000.00", "1800.00", "1600.00", "1500.00", "1300.00", "1200.00", "1100.00",
    ]  # fmt: skip
    assert sum(terms.DEFAULT_TIERS) == terms.DEFAULT_LEADERBOARD_POOL == Decimal("20000.00")
    assert validate_tiers(terms.DEFAULT_TIERS) == terms.DEFAULT_TIERS


def test_a_new_campaign_takes_every_default_from_the_terms_module():
    campaign = Campaign()
    expected = {
        "grace_hours": terms.DEFAULT_GRACE_HOURS,
        "content_period_days": terms.DEFAULT_CONTENT_PERIOD_DAYS,
        "week_days": terms.DEFAULT_WEEK_DAYS,
        "min_length": terms.DEFAULT_MIN_LENGTH,
        "score_cap": terms.DEFAULT_SCORE_CAP,
        "duplicate_threshold": terms.DEFAULT_DUPLICATE_THRESHOLD,
        "first_post_asset": terms.DEFAULT_FIRST_POST_ASSET,
        "first_post_amount": terms.DEFAULT_FIRST_POST_AMOUNT,
        "pool_asset": terms.DEFAULT_POOL_ASSET,
        "pool_amount": terms.DEFAULT_POOL_AMOUNT,
        "pool_cap": terms.DEFAULT_POOL_CAP,
        "pool_min_score": terms.DEFAULT_POOL_MIN_SCORE,
        "pool_top_posts": terms.DEFAULT_POOL_TOP_POSTS,
        "leaderboard_asset": terms.DEFAULT_LEADERBOARD_ASSET,
        "leaderboard_min_posts": terms.DEFAULT_LEADERBOARD_MIN_POSTS,
        "leaderboard_strategy": terms.STRATEGY_TIERS,
        "leaderboard_pool": terms.DEFAULT_LEADERBOARD_POOL,
        "copier_weight": terms.DEFAULT_COPIER_WEIGHT,
        "pnl_weight": terms.DEFAULT_PNL_WEIGHT,
        "featured_per_day": terms.DEFAULT_FEATURED_PER_DAY,
        "weekly_stars": terms.DEFAULT_WEEKLY_STARS,
        "latin_terms": list(terms.DEFAULT_LATIN_TERMS),
        "cjk_terms": list(terms.DEFAULT_CJK_TERMS),
        "leaderboard_tiers": ["4000.00", "3000.00", "2500.00", "2000.00", "1800.00", "1600.00", "1500.00", "1300.00", "1200.00", "1100.00"],
    }
    assert {name: getattr(campaign, name) for name in expected} == expected
    assert str(campaign.pool_amount) == "500.00" and str(campaign.first_post_amount) == "30.00"


def test_the_rules_default_to_the_same_values_as_the_campaign():
    assert qualification.DEFAULT_LATIN_TERMS is terms.DEFAULT_LATIN_TERMS
    assert qualification.DEFAULT_CJK_TERMS is terms.DEFAULT_CJK_TERMS
    assert qualification.DEFAULT_MIN_LENGTH == terms.DEFAULT_MIN_LENGTH == 100
    assert qualification.post_score(likes=10_000, comments=0, shares=0, views=0) == terms.DEFAULT_SCORE_CAP == 500
    assert leaderboard.DEFAULT_TIERS is terms.DEFAULT_TIERS
    assert leaderboard.validate_tiers is terms.validate_tiers
    assert leaderboard.STRATEGIES == tuple(Campaign.SplitStrategy.values)
    assert (first_post.FIRST_POST_ASSET, first_post.FIRST_POST_AMOUNT) == (terms.DEFAULT_FIRST_POST_ASSET, terms.DEFAULT_FIRST_POST_AMOUNT)
    assert content_pool.split_content_pool.__kwdefaults__ == {
        "pool": terms.DEFAULT_POOL_AMOUNT,
        "cap": terms.DEFAULT_POOL_CAP,
        "min_score": terms.DEFAULT_POOL_MIN_SCORE,
        "top_posts": terms.DEFAULT_POOL_TOP_POSTS,
    }
    assert traffic.featured_posts_by_day.__defaults__ == (terms.DEFAULT_FEATURED_PER_DAY,)
    assert traffic.weekly_stars.__defaults__ == (terms.DEFAULT_WEEKLY_STARS,)


def test_the_default_callables_of_the_migrations_give_a_fresh_list_each_time():
    first, second = default_tiers(), default_tiers()
    assert first == second and first is not second
    assert default_latin_terms() == list(terms.DEFAULT_LATIN_TERMS) and default_latin_terms() is not default_latin_terms()
    assert default_cjk_terms() == list(terms.DEFAULT_CJK_TERMS)


def test_the_terms_module_imports_nothing_but_the_standard_library():
    tree = ast.parse(Path(terms.__file__).read_text(encoding="utf-8"))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules == {"collections.abc", "decimal", "fractions"}


@pytest.mark.parametrize(
    ("tiers", "code", "message"),
    [
        ([], "empty", "at least one"),
        ([Decimal("100"), Decimal("200")], "increasing", "tier 2 \\(200\\) is above tier 1 \\(100\\)"),
        ([Decimal("-1")], "negative", "must not be negative"),
        ([Decimal("1.005")], "not_cents", "two decimals"),
        ([1.5], "not_amount", "decimal amount"),
        ([True], "not_amount", "decimal amount"),
        ([Decimal("Infinity")], "not_amount", "finite"),
        ("4000", "not_amount", "list of amounts"),
        # Every amount is checked before the order: a table with a bad amount says so.
        ([Decimal("100"), Decimal("200"), Decimal("0.001")], "not_cents", "tier 3"),
    ],
)
def test_a_bad_tier_table_is_refused_with_the_code_of_the_broken_rule(tiers, code, message):
    with pytest.raises(ConfigurationError, match=message) as raised:
        validate_tiers(tiers)
    assert raised.value.code == code
    assert isinstance(raised.value, ValueError)


def test_a_valid_tier_table_comes_back_in_cents_with_equal_ranks_allowed():
    assert validate_tiers([Decimal("5"), Decimal("5.000"), 0]) == (Decimal("5.00"), Decimal("5.00"), Decimal("0.00"))
    assert [str(amount) for amount in validate_tiers([4000, Decimal("0.1")])] == ["4000.00", "0.10"]


@given(st.lists(st.integers(-5, 10**9), min_size=1, max_size=12), st.integers(0, 2))
def test_a_table_of_cents_is_accepted_exactly_when_no_amount_is_negative_and_none_rises(cents, digits):
    """Stored as strings with 2 to 4 decimals, as JSON holds them: the value decides, not the spelling."""
    raw = [f"{Decimal(c).scaleb(-2):.{2 + digits}f}" for c in cents]
    valid = all(c >= 0 for c in cents) and all(a >= b for a, b in zip(cents, cents[1:]))
    if valid:
        assert tiers_from_config(raw) == tuple(Decimal(c).scaleb(-2) for c in cents)
        assert leaderboard_pool_size(strategy="tiers", tiers=raw, pool=None) == Decimal(sum(cents)).scaleb(-2)
    else:
        with pytest.raises(ConfigurationError):
            tiers_from_config(raw)


def test_a_stored_tier_table_is_read_by_the_decimal_spelling_of_each_amount():
    assert tiers_from_config(["4000.00", 3000, 2000.5]) == (Decimal("4000.00"), Decimal("3000.00"), Decimal("2000.50"))
    assert tiers_from_config([0.1]) == (Decimal("0.10"),)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("4000", "not_amount"),
        (None, "not_amount"),
        ({"1": "4000"}, "not_amount"),
        (["four thousand"], "not_amount"),
        ([True], "not_amount"),
        (["NaN"], "not_amount"),
        (["Infinity"], "not_amount"),
        ([], "empty"),
        (["-5"], "negative"),
        (["1.005"], "not_cents"),
        (["100", "200"], "increasing"),
    ],
)
def test_a_stored_tier_table_that_is_not_a_list_of_valid_amounts_is_refused(raw, code):
    with pytest.raises(ConfigurationError) as raised:
        tiers_from_config(raw)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("terms_list", "whole_words", "code"),
    [
        ("long", True, "not_terms"),
        (["long", ""], True, "not_terms"),
        (["long", "   "], False, "not_terms"),
        (["long", 5], False, "not_terms"),
        (["funding  rate"], True, "spacing"),
        ([" long"], True, "spacing"),
    ],
)
def test_a_bad_list_of_trading_terms_is_refused(terms_list, whole_words, code):
    with pytest.raises(ConfigurationError) as raised:
        validate_terms(terms_list, whole_words=whole_words)
    assert raised.value.code == code


def test_substring_terms_keep_their_spaces_and_good_lists_come_back_as_tuples():
    assert validate_terms([" 做多", "funding  rate"], whole_words=False) == (" 做多", "funding  rate")
    assert validate_terms(list(terms.DEFAULT_LATIN_TERMS), whole_words=True) == terms.DEFAULT_LATIN_TERMS


def test_the_leaderboard_pool_is_the_tiers_sum_under_tiers_and_the_configured_pool_otherwise():
    tiers = ["4000.00", "3000.00", "0.10"]
    assert leaderboard_pool_size(strategy="tiers", tiers=tiers, pool=Decimal("1.00")) == Decimal("7000.10")
    assert str(leaderboard_pool_size(strategy="tiers", tiers=default_tiers(), pool=None)) == "20000.00"
    assert leaderboard_pool_size(strategy="proportional", tiers=tiers, pool=Decimal("123.45")) == Decimal("123.45")
    # As a stored settlement configuration holds it: strings.
    assert leaderboard_pool_size(strategy="equal", tiers=tiers, pool="20000.00") == Decimal("20000.00")


def campaign(**changes):
    values = dict(slug="c", name="C", starts_at=datetime(2026, 2, 12, 10, tzinfo=timezone.utc), ends_at=datetime(2026, 2, 24, 16, tzinfo=timezone.utc))
    values.update(changes)
    return Campaign(**values)


def clean_errors(**changes) -> dict:
    with pytest.raises(ValidationError) as raised:
        campaign(**changes).clean()
    return {field: [str(message) for message in messages] for field, messages in raised.value.message_dict.items()}


def test_a_campaign_with_the_default_configuration_is_clean():
    campaign().clean()


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (["4000", "four"], 'A list of amounts such as "4000.00".'),
        ("4000", 'A list of amounts such as "4000.00".'),
        (["NaN"], 'A list of amounts such as "4000.00".'),
        ([], "At least one tier."),
        (["-1"], "Amounts must be non-negative with at most two decimals."),
        (["1.005"], "Amounts must be non-negative with at most two decimals."),
        (["100", "200", "0.001"], "Amounts must be non-negative with at most two decimals."),
        (["100", "200"], "A lower rank may not earn more than a higher one."),
    ],
)
def test_the_campaign_form_says_which_rule_of_the_tier_table_is_broken(tiers, message):
    assert clean_errors(leaderboard_tiers=tiers) == {"leaderboard_tiers": [message]}


def test_the_campaign_form_says_which_rule_of_the_trading_terms_is_broken():
    assert clean_errors(latin_terms=["funding  rate"], cjk_terms=["做多", ""]) == {
        "latin_terms": ["Multi-word terms use single spaces and no surrounding spaces."],
        "cjk_terms": ["A list of non-empty strings."],
    }
