"""Post qualification rules (RULES.md section 3): pure, no database."""

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign import qualification as q
from campaign.qualification import (
    DELETED,
    DUPLICATE,
    MODERATABLE,
    NOT_ENROLLED,
    NOT_TRADING,
    OUTSIDE_WINDOW,
    REASONS,
    REJECTED,
    TOO_SHORT,
    Lexicon,
    PostFacts,
    content_length,
    has_trading_term,
    jaccard_at_least,
    judge,
    normalize_for_shingles,
    post_score,
    shingles,
    strip_urls,
)

LEXICON = Lexicon.default()
FILLER = "x"


def facts(text="long " + FILLER * 200, **overrides):
    """Facts of a post that qualifies, with the given fields changed."""
    values = dict(in_window=True, enrolled=True, deleted=False, text=text, is_duplicate=False)
    values.update(overrides)
    return PostFacts(**values)


def trading(text):
    return has_trading_term(text, LEXICON)


def test_reason_codes_are_listed_in_the_rulebook_order():
    assert REASONS == (
        "outside_window",
        "not_enrolled",
        "deleted",
        "too_short",
        "not_trading",
        "duplicate",
        "rejected",
    )
    assert MODERATABLE == ("too_short", "not_trading", "duplicate")


def test_default_terms_are_exactly_the_rulebook_lists():
    assert q.DEFAULT_LATIN_TERMS == (
        "long", "short", "futures", "perpetual", "perp", "leverage", "leveraged", "liquidation",
        "liquidations", "funding rate", "open interest", "support", "resistance", "breakout",
        "entry", "stop loss", "take profit", "bullish", "bearish", "squeeze", "derivatives",
    )  # fmt: skip
    assert q.DEFAULT_CJK_TERMS == (
        "做多", "做空", "合约", "杠杆", "爆仓", "清算", "止损", "止盈", "支撑", "阻力", "突破",
        "多单", "空单", "带单", "跟单", "持仓",
    )  # fmt: skip


# -- check 4: length -------------------------------------------------------------------------


def test_ninety_nine_characters_are_too_short_and_one_hundred_are_enough():
    # "long " loses its space: 4 + 95 = 99 and 4 + 96 = 100 characters.
    assert judge(facts("long " + FILLER * 95), lexicon=LEXICON) == TOO_SHORT
    assert judge(facts("long " + FILLER * 96), lexicon=LEXICON) is None


def test_urls_do_not_count_towards_the_length():
    text = "long " + FILLER * 95 + " https://www.gate.com/copytrading/lead-trader-registration/futures"
    assert content_length(text) == 99
    assert judge(facts(text), lexicon=LEXICON) == TOO_SHORT
    assert content_length("http://a.b/c " + FILLER * 3) == 3


def test_a_url_runs_until_the_next_whitespace():
    assert strip_urls("see https://x.com/a,b.(c)!! then") == "see  then"
    assert strip_urls("链接:https://www.gate.com/questionnaire/7355 报名") == "链接: 报名"


def test_the_url_pattern_is_case_sensitive_as_written():
    assert content_length("HTTPS://X") == 9
    assert strip_urls("Https://x.com") == "Https://x.com"


def test_a_scheme_without_a_following_character_is_not_a_url():
    # `\S+` needs at least one character right after the slashes.
    assert strip_urls("http:// x") == "http:// x"


def test_every_kind_of_unicode_whitespace_is_removed_before_counting():
    assert content_length("a b\tc\nd\re\u00a0f\u3000g\u2003h\x1ci\u2028j") == 10


def test_a_zero_width_space_is_not_whitespace_and_counts():
    assert content_length("a\u200bb") == 3


def test_each_cjk_character_counts_as_one():
    assert content_length("做多" + "币" * 98) == 100
    assert judge(facts("做多" + "币" * 97), lexicon=LEXICON) == TOO_SHORT
    assert judge(facts("做多" + "币" * 98), lexicon=LEXICON) is None


def test_the_minimum_length_comes_from_the_configuration():
    assert judge(facts("long " + FILLER * 46), min_length=50, lexicon=LEXICON) is None
    assert judge(facts("long " + FILLER * 45), min_length=50, lexicon=LEXICON) == TOO_SHORT


# -- check 5: trading terms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watching $BTC today", True),
        ("watching $btc today", True),
        ("$BtC", True),
        ("$BTCUSDT looks heavy", True),
        ("$ETH.", True),
        ("$ABCDEFGHIJ has ten letters", True),
        ("$ABCDEFGHIJK has eleven letters", False),
        ("$A is one letter", False),
        ("won $20 today", False),
        ("$ BTC", False),
        ("$BTC2 is followed by a digit", True),
        ("$BTC_PERPS is followed by an underscore", True),
        ("price$ETH glued to a word", True),
    ],
)
def test_cashtags_are_two_to_ten_ascii_letters_after_a_dollar(text, expected):
    assert trading(text) is expected


def test_a_cashtag_ends_at_the_last_ascii_letter_so_a_non_ascii_letter_after_it_is_fine():
    # "not followed by another letter" is read as another ASCII letter.
    assert trading("$BTC价格") is True
    assert trading("$ETHé") is True


def test_a_non_ascii_letter_is_not_part_of_a_cashtag():
    # The Kelvin sign folds to "k" under IGNORECASE, which is why the cashtag pattern has none.
    assert trading("$ÉT") is False
    assert trading("$\u212aB") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("going Long here", True),
        ("LONG", True),
        ("shortly after the open", False),
        ("longs and shorts", False),
        # `\b` sits between "g" and "-", so a hyphenated compound holds the word.
        ("a long-term view", True),
        ("a long_term view", False),
        ("long2", False),
        ("10x leverage", True),
        ("(bullish)", True),
        ("perp.", True),
        ("perpetuals", False),
        ("liquidations everywhere", True),
        ("the funding rate flipped", True),
        ("Funding Rate", True),
        # Multi-word terms match with the single space they are written with, nothing else.
        ("funding  rate with two spaces", False),
        ("funding-rate", False),
        ("funding\nrate", False),
        ("funding\u00a0rate", False),
        ("stop-loss", False),
        ("set a stop loss", True),
        # CJK characters are word characters for `\b`: no boundary between 币 and l.
        ("币long", False),
        ("nothing to see here", False),
    ],
)
def test_latin_terms_match_as_whole_words_case_insensitively(text, expected):
    assert trading(text) is expected


@pytest.mark.parametrize("term", q.DEFAULT_CJK_TERMS)
def test_every_chinese_term_matches_as_a_substring(term):
    assert trading(f"今天{term}了吗") is True


@pytest.mark.parametrize("term", q.DEFAULT_LATIN_TERMS)
def test_every_latin_term_matches_on_its_own(term):
    assert trading(f"I like {term.upper()}!") is True


def test_terms_inside_urls_do_not_count():
    assert trading("see https://x.com/long-short/$BTC/做多") is False


def test_removing_a_url_joins_what_was_around_it():
    # URLs are removed, not replaced by a space: the literal reading of "with URLs removed".
    assert trading("stophttps://x.com loss") is True


def test_a_post_without_a_trading_term_is_not_trading():
    assert judge(facts("coffee " * 30), lexicon=LEXICON) == NOT_TRADING


def test_the_lexicon_comes_from_the_configuration():
    custom = Lexicon(latin_terms=["moon shot"], cjk_terms=["拉盘"])
    assert custom.latin_terms == ("moon shot",)
    assert has_trading_term("a Moon Shot", custom) is True
    assert has_trading_term("准备拉盘", custom) is True
    assert has_trading_term("long", custom) is False
    assert has_trading_term("$BTC", Lexicon(latin_terms=(), cjk_terms=())) is True


def test_the_compiled_matcher_is_shared_between_equal_lexicons():
    # Settlement builds a Lexicon per run from the stored configuration; compiling once per
    # distinct term list keeps that free.
    Lexicon.default().matches("x")
    first = q._latin_matcher(Lexicon.default().latin_terms)
    assert first is q._latin_matcher(tuple(q.DEFAULT_LATIN_TERMS))


def test_regex_characters_in_a_term_are_literal():
    assert has_trading_term("a.b", Lexicon(latin_terms=("a.b",), cjk_terms=())) is True
    assert has_trading_term("axb", Lexicon(latin_terms=("a.b",), cjk_terms=())) is False


def test_a_blank_term_is_refused():
    with pytest.raises(ValueError):
        Lexicon(latin_terms=(" ",), cjk_terms=())
    with pytest.raises(ValueError):
        Lexicon(latin_terms=(), cjk_terms=("",))


# -- checks 1 to 3 and 7: precedence --------------------------------------------------------


def test_a_post_passing_every_check_qualifies():
    assert judge(facts(), lexicon=LEXICON) is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (dict(in_window=False, enrolled=False, deleted=True, text="", is_duplicate=True), OUTSIDE_WINDOW),
        (dict(enrolled=False, deleted=True, text="", is_duplicate=True), NOT_ENROLLED),
        (dict(deleted=True, text="", is_duplicate=True, moderation="rejected"), DELETED),
        (dict(text="coffee", is_duplicate=True, moderation="rejected"), TOO_SHORT),
        (dict(text="coffee " * 30, is_duplicate=True, moderation="rejected"), NOT_TRADING),
        (dict(is_duplicate=True, moderation="rejected"), DUPLICATE),
        (dict(moderation="rejected"), REJECTED),
    ],
)
def test_the_first_failing_check_is_the_reason(overrides, expected):
    assert judge(facts(**overrides), lexicon=LEXICON) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        dict(text="coffee"),
        dict(text="coffee " * 30),
        dict(is_duplicate=True),
        dict(text="x", is_duplicate=True),
    ],
)
def test_an_approval_overrides_length_trading_and_duplicate_checks(overrides):
    assert judge(facts(moderation="approved", **overrides), lexicon=LEXICON) is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (dict(in_window=False), OUTSIDE_WINDOW),
        (dict(enrolled=False), NOT_ENROLLED),
        (dict(deleted=True), DELETED),
    ],
)
def test_an_approval_never_overrides_window_enrolment_or_deletion(overrides, expected):
    assert judge(facts(moderation="approved", **overrides), lexicon=LEXICON) == expected


def test_an_unknown_moderation_value_is_an_error():
    with pytest.raises(ValueError):
        judge(facts(moderation="maybe"), lexicon=LEXICON)


@given(
    in_window=st.booleans(),
    enrolled=st.booleans(),
    deleted=st.booleans(),
    text=st.sampled_from(["", "coffee " * 30, "long " * 30, "做多" * 60]),
    is_duplicate=st.booleans(),
    moderation=st.sampled_from([None, "approved", "rejected"]),
)
def test_the_verdict_is_the_first_failure_of_the_checks_in_order(
    in_window, enrolled, deleted, text, is_duplicate, moderation
):
    post = PostFacts(in_window, enrolled, deleted, text, is_duplicate, moderation)
    # The rulebook restated as a list of failures; an approval removes checks 4 to 6 only.
    approved = moderation == "approved"
    failures = [
        not in_window,
        not enrolled,
        deleted,
        not approved and content_length(text) < 100,
        not approved and not trading(text),
        not approved and is_duplicate,
        moderation == "rejected",
    ]
    expected = next((reason for reason, failed in zip(REASONS, failures) if failed), None)
    assert judge(post, lexicon=LEXICON) == expected


# -- score -----------------------------------------------------------------------------------


def test_the_score_adds_weighted_engagement_to_one():
    assert post_score(likes=0, comments=0, shares=0, views=0) == 1
    assert post_score(likes=3, comments=2, shares=1, views=0) == 1 + 3 + 4 + 3


@pytest.mark.parametrize(("views", "points"), [(99, 0), (100, 1), (199, 1), (200, 2), (12_345, 123)])
def test_views_count_one_point_per_full_hundred(views, points):
    assert post_score(likes=0, comments=0, shares=0, views=views) == 1 + points


def test_the_score_is_capped_at_500():
    # 1 + 499 likes reaches the cap exactly; anything above stays there.
    assert post_score(likes=499, comments=0, shares=0, views=0) == 500
    assert post_score(likes=500, comments=0, shares=0, views=0) == 500
    assert post_score(likes=10**6, comments=10**6, shares=10**6, views=10**9) == 500
    assert post_score(likes=100, comments=0, shares=0, views=0, cap=50) == 50


# -- shingles and Jaccard --------------------------------------------------------------------


def test_normalization_drops_urls_then_whitespace_then_lowercases():
    assert normalize_for_shingles("Go LONG\n https://x.com/A  Now") == "golongnow"


def test_shingles_are_character_five_grams_of_the_normalized_text():
    assert shingles("ab cDe F") == frozenset({"abcde", "bcdef"})
    assert shingles("做多 比特币") == frozenset({"做多比特币"})


def test_a_text_under_five_characters_has_no_shingles():
    assert shingles("abcd") == frozenset()
    assert shingles("a b c d https://x.com/long-url") == frozenset()
    assert shingles("abcde") == frozenset({"abcde"})


def test_jaccard_exactly_at_four_fifths_counts():
    # 80 shared of 100 in the union: the float 80/100 == 0.8 would pass by luck; the integer
    # comparison passes by construction.
    common = {f"s{i}" for i in range(80)}
    a = frozenset(common | {f"a{i}" for i in range(10)})
    b = frozenset(common | {f"b{i}" for i in range(10)})
    assert jaccard_at_least(a, b, Fraction(4, 5))


def test_jaccard_just_below_four_fifths_does_not_count():
    # 79 shared of 100 in the union.
    common = {f"s{i}" for i in range(79)}
    a = frozenset(common | {f"a{i}" for i in range(11)})
    b = frozenset(common | {f"b{i}" for i in range(10)})
    assert not jaccard_at_least(a, b, Fraction(4, 5))


def test_empty_sets_are_never_near_duplicates():
    assert not jaccard_at_least(frozenset(), frozenset(), Fraction(4, 5))
    assert not jaccard_at_least(frozenset({"abcde"}), frozenset(), Fraction(0))


def test_a_float_threshold_is_refused():
    # Fraction(0.8) is 3602879701896397/4503599627370496, just above 4/5.
    with pytest.raises(TypeError):
        jaccard_at_least(frozenset({"a"}), frozenset({"a"}), 0.8)


@given(st.frozensets(st.integers(0, 30)), st.frozensets(st.integers(0, 30)), st.fractions(0, 1))
def test_jaccard_comparison_agrees_with_the_exact_ratio(a, b, threshold):
    if a and b:
        assert jaccard_at_least(a, b, threshold) == (Fraction(len(a & b), len(a | b)) >= threshold)


def test_the_url_pattern_is_the_one_of_the_rulebook():
    assert q.URL_RE.pattern == r"https?://\S+"
    assert q.URL_RE.flags & re.IGNORECASE == 0
