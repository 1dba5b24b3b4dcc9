"""Post qualification (RULES.md section 3). Pure: plain data in, plain data out.

No Django, no ORM, no clock, no I/O. The settlement service gathers the facts of a post
(window, enrolment, deleted flag, text, duplicate verdict from `campaign.near_duplicates`,
moderation) into a `PostFacts`, and `judge` returns the reason code of the first failing check,
or None when the post qualifies.

Readings of RULES.md that the tests pin down:
- "Characters" are Python code points: a CJK character or an emoji code point counts as one.
- "All whitespace" is `str.isspace`, which is exactly what `\\s` matches in a `str` pattern.
- URLs are removed (replaced by nothing) with the pattern exactly as written, `https?://\\S+`,
  so it is case-sensitive: `HTTPS://X` is not a URL and its letters count. Nothing takes a
  removed URL's place, so `stophttps://x.com loss` reads `stop loss` for check 5.
- A cashtag is `$` and 2 to 10 ASCII letters not followed by a further ASCII letter. "Another
  letter" is read as another letter of the same kind, so `$BTC做多` and `$ETH.` hold `$BTC` and
  `$ETH`; a digit or `_` after the letters does not stop a cashtag either (`$BTC2`).
- Latin terms match case-insensitively (`re.IGNORECASE`, Unicode simple case folding) between
  Python `\\b` boundaries, whose word characters are Unicode letters, digits and `_`. Hence
  `long-term` holds `long`, `long_term` and `shortly` do not, and a Latin term glued to CJK
  text (`做多long`) does not match. A multi-word term matches only with the single spaces it is
  written with: `funding  rate`, `funding-rate` and `funding\\nrate` are not `funding rate`.
- CJK terms are plain, case-sensitive substrings of the text with URLs removed.
"""

import functools
import hashlib
import json
import re
from dataclasses import dataclass

# The checks' configurable parameters default to the rulebook's, written once in `campaign.terms`.
from campaign.terms import DEFAULT_CJK_TERMS, DEFAULT_LATIN_TERMS, DEFAULT_MIN_LENGTH, DEFAULT_SCORE_CAP

OUTSIDE_WINDOW = "outside_window"
NOT_ENROLLED = "not_enrolled"
DELETED = "deleted"
TOO_SHORT = "too_short"
NOT_TRADING = "not_trading"
DUPLICATE = "duplicate"
REJECTED = "rejected"

# In check order: the first failing check is the reason, so this order is part of the rule.
REASONS = (OUTSIDE_WINDOW, NOT_ENROLLED, DELETED, TOO_SHORT, NOT_TRADING, DUPLICATE, REJECTED)
# Ops may approve over these checks only; window, enrolment and deletion are facts, not taste.
MODERATABLE = (TOO_SHORT, NOT_TRADING, DUPLICATE)

APPROVED = "approved"
MODERATION_VALUES = (None, APPROVED, REJECTED)

SHINGLE_SIZE = 5

# The rulebook's pattern verbatim, flags included: widening it would change verdicts of record.
URL_RE = re.compile(r"https?://\S+")
# Compiled without IGNORECASE on purpose: under it `[A-Za-z]` would also accept the Kelvin sign
# and the long s, which fold to ASCII letters but are not ASCII letters.
CASHTAG_RE = re.compile(r"\$[A-Za-z]{2,10}(?![A-Za-z])")


@functools.lru_cache(maxsize=32)
def _latin_matcher(latin_terms: tuple[str, ...]) -> re.Pattern | None:
    if not latin_terms:
        return None
    # Longest first only makes failures cheaper; for a yes/no search the order does not matter.
    alternatives = "|".join(re.escape(term) for term in sorted(latin_terms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Lexicon:
    """The trading terms of a campaign configuration (RULES.md section 3, check 5).

    Latin terms match as whole words, case-insensitively; CJK terms match as substrings.
    Instances are hashable and their compiled matcher is cached per distinct term tuple, so
    building a Lexicon per settlement costs one regex compilation at most.
    """

    latin_terms: tuple[str, ...]
    cjk_terms: tuple[str, ...]

    def __post_init__(self):
        # Admin forms hand over lists; the cache key must be a tuple.
        object.__setattr__(self, "latin_terms", tuple(self.latin_terms))
        object.__setattr__(self, "cjk_terms", tuple(self.cjk_terms))
        for term in self.latin_terms + self.cjk_terms:
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"a trading term must be a non-blank string, got {term!r}")

    @classmethod
    def default(cls) -> "Lexicon":
        return cls(latin_terms=DEFAULT_LATIN_TERMS, cjk_terms=DEFAULT_CJK_TERMS)

    def matches(self, text_without_urls: str) -> bool:
        # Substring tests first: plain `in` runs at C speed and settles most Chinese posts.
        if any(term in text_without_urls for term in self.cjk_terms):
            return True
        matcher = _latin_matcher(self.latin_terms)
        return matcher is not None and matcher.search(text_without_urls) is not None


def strip_urls(text: str) -> str:
    """Remove every `https?://\\S+` match (case-sensitive, replaced by nothing)."""
    return URL_RE.sub("", text)


def content_length(text: str) -> int:
    """Code points left once URLs and then all whitespace (`str.isspace`) are removed."""
    # str.split() with no argument splits on exactly the str.isspace characters.
    return len("".join(strip_urls(text).split()))


@functools.lru_cache(maxsize=64)
def lexicon_key(lexicon: Lexicon) -> str:
    """A short fingerprint of a lexicon: a stored check 5 answer is reused only under the same key."""
    return hashlib.sha256(json.dumps([sorted(lexicon.latin_terms), sorted(lexicon.cjk_terms)], ensure_ascii=False).encode()).hexdigest()[:16]


def text_facts(text: str, lexicon: Lexicon) -> tuple[int, bool, str]:
    """(content length, has a trading term, lexicon key): what checks 4 and 5 need from a text,
    computed once when the text arrives so that judging never reads texts again."""
    return content_length(text), has_trading_term(text, lexicon), lexicon_key(lexicon)


def has_trading_term(text: str, lexicon: Lexicon) -> bool:
    """Check 5: whether the text, URLs removed, holds a cashtag or a term of the lexicon."""
    text = strip_urls(text)
    # Cashtags are a pattern, not a list, so they stay outside the configurable lexicon.
    return CASHTAG_RE.search(text) is not None or lexicon.matches(text)


def normalize_for_shingles(text: str) -> str:
    """URLs removed, then all whitespace removed, then `str.lower` (in that order)."""
    # The order is the rulebook's: lowercasing may lengthen a text ("İ" becomes two code points).
    return "".join(strip_urls(text).split()).lower()


def shingles(text: str, k: int = SHINGLE_SIZE) -> frozenset[str]:
    """The set of character k-grams of the normalized text; empty when it is under k characters.

    "A text under 5 characters" is read on the normalized text, the one the 5-grams come from.
    """
    normalized = normalize_for_shingles(text)
    return frozenset(normalized[i : i + k] for i in range(len(normalized) - k + 1))


def jaccard_at_least(a: frozenset, b: frozenset, threshold) -> bool:
    """Whether |a & b| / |a | b| >= threshold, compared exactly in integers.

    `threshold` is a `fractions.Fraction` (an int also works); floats are refused because
    0.8 as a float is not 4/5 and would misjudge a pair sitting exactly on the threshold.
    Empty sets are never near-duplicates, not even of each other.
    """
    if isinstance(threshold, float):
        raise TypeError("threshold must be exact (fractions.Fraction), not float")
    if not a or not b:
        return False
    if len(a) > len(b):
        a, b = b, a
    intersection = len(a & b)
    # The union's size follows from the sizes; building the union set would double the cost.
    union = len(a) + len(b) - intersection
    return intersection * threshold.denominator >= threshold.numerator * union


def post_score(*, likes: int, comments: int, shares: int, views: int, cap: int = DEFAULT_SCORE_CAP) -> int:
    """Post score = min(cap, 1 + likes + 2*comments + 3*shares + floor(views / 100)).

    Integer arithmetic only; `views // 100` is the floor. Inputs are the newest engagement
    figures; rejecting negative figures is the importer's job, not this function's.
    """
    return min(cap, 1 + likes + 2 * comments + 3 * shares + views // 100)


@dataclass(frozen=True)
class PostFacts:
    """What `judge` needs to know about one post, gathered at settlement time.

    `is_duplicate` is the verdict of check 6 from `campaign.near_duplicates` (an earlier stored
    post or a reference text is a near-duplicate). `moderation` is None, "approved" or "rejected".
    """

    in_window: bool
    enrolled: bool
    deleted: bool
    text: str
    is_duplicate: bool
    moderation: str | None = None
    # Checks 4 and 5 as computed from `text` before (stored at ingest, `text_facts`): when given,
    # the text is not read again. They must be those of `text` and of the lexicon judged with.
    length: int | None = None
    trading: bool | None = None


def judge(facts: PostFacts, *, min_length: int = DEFAULT_MIN_LENGTH, lexicon: Lexicon) -> str | None:
    """Return None when the post qualifies, else the reason code of the first failing check.

    Checks run in RULES.md order: outside_window, not_enrolled, deleted, too_short,
    not_trading, duplicate, rejected. An ops approval waives checks 4 to 6 and never 1 to 3.
    A rejection is the reason only when checks 1 to 6 all pass, because the first failing
    check wins. Deterministic and side-effect free: judging twice gives the same answer.
    """
    if facts.moderation not in MODERATION_VALUES:
        raise ValueError(f"unknown moderation {facts.moderation!r}")
    if not facts.in_window:
        return OUTSIDE_WINDOW
    if not facts.enrolled:
        return NOT_ENROLLED
    if facts.deleted:
        return DELETED
    if facts.moderation == APPROVED:
        # The approval waives every check left, so the text is not even looked at.
        return None
    if (facts.length if facts.length is not None else content_length(facts.text)) < min_length:
        return TOO_SHORT
    if not (facts.trading if facts.trading is not None else has_trading_term(facts.text, lexicon)):
        return NOT_TRADING
    if facts.is_duplicate:
        return DUPLICATE
    if facts.moderation == REJECTED:
        return REJECTED
    return None
