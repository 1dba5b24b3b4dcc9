"""The campaign's configuration: the rulebook's defaults and what makes a configuration valid.

Every number of RULES.md is the default of a setting ops may edit (`campaign.models.Campaign`).
This module is where each default is written, once, and where a configured value is checked:
the model's fields and `Campaign.clean`, the qualification rule (`campaign.qualification`) and
the reward rules (`rewards.rules`) all read it. Pure: no Django, no ORM, no I/O, so every layer
above may import it (DESIGN.md: the campaign owns its window and its rules configuration).

A configured amount must already be exact to the cent: silently rounding a configuration value
would pay something nobody configured.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

# Section 1: time.
DEFAULT_GRACE_HOURS = 24
DEFAULT_CONTENT_PERIOD_DAYS = 14
DEFAULT_WEEK_DAYS = 7

# Section 3: qualification (check 4, check 5, the near-duplicate threshold, the post score cap).
DEFAULT_MIN_LENGTH = 100
DEFAULT_SCORE_CAP = 500
DEFAULT_DUPLICATE_THRESHOLD = Decimal("0.800")
# The trading lexicon of check 5: Latin terms match as whole words, CJK terms as substrings.
DEFAULT_LATIN_TERMS = (
    "long", "short", "futures", "perpetual", "perp", "leverage", "leveraged", "liquidation",
    "liquidations", "funding rate", "open interest", "support", "resistance", "breakout", "entry",
    "stop loss", "take profit", "bullish", "bearish", "squeeze", "derivatives",
)  # fmt: skip
DEFAULT_CJK_TERMS = (
    "做多", "做空", "合约", "杠杆", "爆仓", "清算", "止损", "止盈", "支撑", "阻力", "突破", "多单",
    "空单", "带单", "跟单", "持仓",
)  # fmt: skip

# Section 4: the first-post bonus.
DEFAULT_FIRST_POST_ASSET = "TRIAL_FUND"
DEFAULT_FIRST_POST_AMOUNT = Decimal("30.00")

# Section 5: the biweekly content pool.
DEFAULT_POOL_ASSET = "USDT"
DEFAULT_POOL_AMOUNT = Decimal("500.00")
DEFAULT_POOL_CAP = Decimal("100.00")
DEFAULT_POOL_MIN_SCORE = 10
DEFAULT_POOL_TOP_POSTS = 5

# Section 6: the top-10 leaderboard.
DEFAULT_LEADERBOARD_ASSET = "USDT"
DEFAULT_LEADERBOARD_MIN_POSTS = 3
DEFAULT_COPIER_WEIGHT = Decimal("5")
DEFAULT_PNL_WEIGHT = Decimal("0.01")
DEFAULT_TIERS = tuple(
    Decimal(amount)
    for amount in ("4000.00", "3000.00", "2500.00", "2000.00", "1800.00", "1600.00", "1500.00", "1300.00", "1200.00", "1100.00")
)
# The pool of the `proportional` and `equal` splits: what the default tiers add up to.
DEFAULT_LEADERBOARD_POOL = Decimal("20000.00")
STRATEGY_TIERS = "tiers"
STRATEGY_PROPORTIONAL = "proportional"
STRATEGY_EQUAL = "equal"
STRATEGIES = (STRATEGY_TIERS, STRATEGY_PROPORTIONAL, STRATEGY_EQUAL)

# Section 7: traffic support.
DEFAULT_FEATURED_PER_DAY = 3
DEFAULT_WEEKLY_STARS = 3

ZERO = Decimal("0.00")


class ConfigurationError(ValueError):
    """A configured value breaks the rule of its setting.

    The message says exactly what and where (for logs and the rules' callers); `code` names the
    broken rule, so a form can show its own translated sentence for it.
    """

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def validate_tiers(tiers: Sequence[Decimal | int]) -> tuple[Decimal, ...]:
    """Check a tier table (RULES.md section 6) and return it as Decimals with two decimals.

    Raises `ConfigurationError` (a `ValueError`) naming the tier unless: there is at least one
    tier (code `empty`); each is a `Decimal` or `int`, never a float (`not_amount`), finite
    (`not_amount`), non-negative (`negative`) and a whole number of cents, judged by value:
    `1.000` is fine, `1.005` is not (`not_cents`); and, once every amount is valid, the table
    never increases from one rank to the next: a better rank never earns less (`increasing`).
    """
    if isinstance(tiers, (str, bytes)) or not isinstance(tiers, Sequence):
        raise ConfigurationError("tiers must be a list of amounts", code="not_amount")
    if not tiers:
        raise ConfigurationError("tiers must list at least one amount", code="empty")
    amounts = tuple(_tier_amount(position, amount) for position, amount in enumerate(tiers, 1))
    for position in range(2, len(amounts) + 1):
        if amounts[position - 1] > amounts[position - 2]:
            raise ConfigurationError(
                f"tier {position} ({tiers[position - 1]}) is above tier {position - 1} ({tiers[position - 2]}): "
                "tiers must not increase with rank",
                code="increasing",
            )
    return amounts


def _tier_amount(position: int, amount) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise ConfigurationError(f"tier {position} must be a decimal amount, got {amount!r}", code="not_amount")
    if isinstance(amount, Decimal) and not amount.is_finite():
        raise ConfigurationError(f"tier {position} must be a finite amount, got {amount}", code="not_amount")
    if amount < 0:
        raise ConfigurationError(f"tier {position} must not be negative, got {amount}", code="negative")
    cents = Fraction(amount) * 100
    if cents.denominator != 1:
        raise ConfigurationError(
            f"tier {position} must be a whole number of cents (two decimals at most), got {amount}", code="not_cents"
        )
    return Decimal(f"{cents.numerator}E-2")


def tiers_from_config(raw) -> tuple[Decimal, ...]:
    """The tier table of a stored configuration (JSON: amounts as strings or numbers), validated.

    A number is read by its decimal spelling (`4000.5` as `Decimal("4000.5")`), as the settlement
    reads it; anything that is not a list of amounts raises `ConfigurationError` (code
    `not_amount`), and the table is then held to `validate_tiers`.
    """
    if not isinstance(raw, (list, tuple)):
        raise ConfigurationError("tiers must be a list of amounts such as \"4000.00\"", code="not_amount")
    try:
        amounts = [Decimal(str(amount)) for amount in raw]
    except ArithmeticError as error:  # decimal.InvalidOperation: not the spelling of a number
        raise ConfigurationError(f"tiers must be amounts such as \"4000.00\", got {raw!r}", code="not_amount") from error
    return validate_tiers(amounts)


def validate_terms(terms, *, whole_words: bool) -> tuple[str, ...]:
    """Check a list of trading terms (RULES.md section 3, check 5) and return it as a tuple.

    Every term is a non-blank string (code `not_terms`). A whole-word (Latin) term is matched
    with the single spaces it is written with, so it may hold no double space and no surrounding
    space (code `spacing`); a substring (CJK) term is matched as written.
    """
    if not isinstance(terms, (list, tuple)) or not all(isinstance(term, str) and term.strip() for term in terms):
        raise ConfigurationError("trading terms must be a list of non-blank strings", code="not_terms")
    if whole_words:
        for term in terms:
            if "  " in term or term != term.strip():
                raise ConfigurationError(f"the term {term!r} must use single spaces and no surrounding spaces", code="spacing")
    return tuple(terms)


def leaderboard_pool_size(*, strategy: str, tiers: Iterable, pool) -> Decimal:
    """The leaderboard pool of a configuration (RULES.md sections 6 and 8): under fixed tiers the
    sum of the tiers (what the places can be paid), under `proportional` and `equal` the
    configured pool, which is shared whole. The budget view, the settlement and the ledger
    invariants all size the pool with this one function. Tiers are read as `tiers_from_config`
    reads them; they are not validated here (a stored configuration already was)."""
    if strategy == STRATEGY_TIERS:
        return sum((Decimal(str(amount)) for amount in tiers), ZERO)
    return pool if isinstance(pool, Decimal) else Decimal(str(pool))

