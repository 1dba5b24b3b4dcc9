"""Writes for traders: registrations and trading-stats imports, and making sure a UID exists."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.database import rows_lookup
from core.imports import ImportReport, run_import
from core.models import ImportRun
from core.parsing import (
    parse_choice,
    parse_count,
    parse_decimal,
    parse_instant,
    parse_optional_instant,
    parse_text,
    parse_uid,
    shown,
)
from core.reading import SourceRecord, csv_records
from traders.models import LeadTraderRegistration, Trader, TradingStats

REGISTRATION_HEADER = ("uid", "nickname", "market", "status", "applied_at", "approved_at")
TRADER_STATS_HEADER = ("uid", "as_of", "new_copiers", "copier_pnl_usdt")


def traders_ensure(uids, *, nicknames: dict[int, str] | None = None) -> dict[int, int]:
    """Make sure a Trader row exists for each UID and return {uid: trader id}.

    With `nicknames`, those traders' nicknames are replaced (a registration import carries the
    nickname; other imports never touch it). Idempotent: an upsert on the unique UID.
    """
    uids = set(uids)
    if nicknames:
        Trader.objects.bulk_create(
            [Trader(uid=uid, nickname=nickname) for uid, nickname in nicknames.items()],
            update_conflicts=True,
            unique_fields=["uid"],
            update_fields=["nickname", "updated_at"],
        )
    found = dict(rows_lookup(model=Trader, fields=("uid", "id"), filters={}, key="uid", keys=uids))
    missing = uids - found.keys() - set(nicknames or ())
    if not missing and not nicknames:
        return found  # every import chunk names traders seen before: one read, no write
    Trader.objects.bulk_create([Trader(uid=uid) for uid in missing], ignore_conflicts=True)
    return dict(Trader.objects.filter(uid__in=uids).values_list("uid", "id"))


@dataclass(frozen=True)
class RegistrationRow:
    uid: int
    nickname: str
    market: str
    status: str
    applied_at: datetime
    approved_at: datetime | None


def registration_parse(data: dict) -> RegistrationRow:
    uid = parse_uid(data.get("uid"))
    return RegistrationRow(
        uid=uid,
        nickname=parse_text(data.get("nickname"), "nickname", 100),
        market=parse_choice(data.get("market"), "market", LeadTraderRegistration.Market.values),
        status=parse_choice(data.get("status"), "status", LeadTraderRegistration.Status.values),
        applied_at=parse_instant(data.get("applied_at"), "applied_at"),
        approved_at=parse_optional_instant(data.get("approved_at"), "approved_at"),
    )


def _registrations_write(chunk: list[tuple[SourceRecord, RegistrationRow]], run: ImportRun):
    # Within a file a later row is newer: keep only the last row per UID of this chunk; chunks
    # are written in file order, so a later chunk overwrites an earlier one as it should.
    latest = {}
    for record, row in chunk:
        latest[row.uid] = (record, row)
    ids = traders_ensure(latest, nicknames={uid: row.nickname for uid, (_, row) in latest.items()})
    LeadTraderRegistration.objects.bulk_create(
        [
            LeadTraderRegistration(
                trader_id=ids[uid],
                market=row.market,
                status=row.status,
                applied_at=row.applied_at,
                approved_at=row.approved_at,
                import_run=run,
                source_line=record.line,
            )
            for uid, (record, row) in latest.items()
        ],
        update_conflicts=True,
        unique_fields=["trader"],
        update_fields=["market", "status", "applied_at", "approved_at", "import_run", "source_line", "updated_at"],
    )
    return []


def registrations_import(
    *, data=None, records=None, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, run=None
) -> ImportReport:
    """Import lead-trader registrations (RULES.md sections 2 and 9).

    The newest import for a UID replaces the older registration whole, nickname included; within
    a file a later row is newer. Re-importing the same file leaves the same state. `data`: bytes
    or a binary file object, streamed (`csv_records`); `run`: a run made by the caller (one linked
    to a campaign), or an unfinished one to continue.
    """
    return run_import(
        kind=ImportRun.Kind.REGISTRATIONS,
        records=records if records is not None else csv_records(data, header=REGISTRATION_HEADER),
        parse=registration_parse,
        write=_registrations_write,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run,
    )


@dataclass(frozen=True)
class TraderStatsRow:
    uid: int
    as_of: datetime
    new_copiers: int
    copier_pnl_usdt: Decimal


def trader_stats_parse(data: dict) -> TraderStatsRow:
    pnl = parse_decimal(data.get("copier_pnl_usdt"), "copier_pnl_usdt")
    if abs(pnl) >= Decimal("1e16") or -pnl.as_tuple().exponent > 8:
        raise ValueError(f"copier_pnl_usdt is out of range (16 integer digits, 8 decimals): {shown(str(pnl))}")
    return TraderStatsRow(
        uid=parse_uid(data.get("uid")),
        as_of=parse_instant(data.get("as_of"), "as_of"),
        new_copiers=parse_count(data.get("new_copiers"), "new_copiers"),
        copier_pnl_usdt=pnl,
    )


def _trader_stats_write(chunk, run):
    latest = {}
    for record, row in chunk:
        # Equal `as_of` compares as an instant, so key on the UTC timestamp, not the text.
        latest[(row.uid, row.as_of.timestamp())] = (record, row)
    ids = traders_ensure({row.uid for _, row in latest.values()})
    TradingStats.objects.bulk_create(
        [
            TradingStats(
                trader_id=ids[row.uid],
                as_of=row.as_of,
                new_copiers=row.new_copiers,
                copier_pnl_usdt=row.copier_pnl_usdt,
                import_run=run,
                source_line=record.line,
            )
            for record, row in latest.values()
        ],
        update_conflicts=True,
        unique_fields=["trader", "as_of"],
        update_fields=["new_copiers", "copier_pnl_usdt", "import_run", "source_line", "updated_at"],
    )
    return []


def trader_stats_import(
    *, data=None, records=None, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, run=None
) -> ImportReport:
    """Import copy-trading snapshots (RULES.md sections 6 and 9).

    A snapshot with an `as_of` equal (as an instant) to a stored one replaces it: the later import
    wins. Re-importing the same file leaves the same state.
    """
    return run_import(
        kind=ImportRun.Kind.TRADER_STATS,
        records=records if records is not None else csv_records(data, header=TRADER_STATS_HEADER),
        parse=trader_stats_parse,
        write=_trader_stats_write,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run,
    )
