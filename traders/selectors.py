"""Reads for traders."""

from datetime import datetime

from traders.models import TradingStats


def trading_stats_as_of(*, uids, at: datetime) -> dict[int, tuple[int, object]]:
    """{uid: (new_copiers, copier_pnl_usdt)} from each trader's newest snapshot with as_of <= at.

    (trader, as_of) is unique, so "equal as_of: the later import" is already the stored row.
    A trader without such a snapshot is absent (the rules count both figures as 0).
    """
    rows = (
        TradingStats.objects.filter(trader__uid__in=list(uids), as_of__lte=at)
        .order_by("trader__uid", "-as_of")
        .values_list("trader__uid", "new_copiers", "copier_pnl_usdt")
    )
    newest = {}
    for uid, copiers, pnl in rows:
        newest.setdefault(uid, (copiers, pnl))
    return newest
