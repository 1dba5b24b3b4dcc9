"""What a what-if run keeps: a preview or an apply as JSON on its `WhatIfRun` row (money as
strings) and, for a preview, read back to the same changes, rows and totals to the cent.
"""

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError

from campaign.models import Campaign
from rewards.models import WhatIfRun
from rewards.services.whatif.apply import WhatIfApplied
from rewards.services.whatif.changes import WHATIF_FIELDS, ConfigChange, campaign_with_changes, config_changes
from rewards.services.whatif.compare import KindTotal, PoolTotal, RewardChange, VerdictChange, gainers, losers
from rewards.services.whatif.preview import WhatIfPreview


def json_value(value):
    """`value` as JSON keeps it: decimals as strings, tuples as lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def _dump(item) -> dict:
    return {f.name: json_value(getattr(item, f.name)) for f in fields(item)}


def _load(cls, data: dict):
    return cls(**{f.name: Decimal(data[f.name]) if f.type is Decimal else data[f.name] for f in fields(cls)})


def whatif_preview_result(preview: WhatIfPreview) -> dict:
    """What a preview run keeps, as JSON (money as strings): everything its page shows. Of the
    reward rows only those that move (amount, or due state) are kept, which is every row the page
    lists or charts; the rewards and summaries behind them are not."""
    moving = set(preview.payability_changes)
    return {
        "at": preview.at.isoformat(),
        "fingerprint": preview.fingerprint,
        "changes": [{"field": c.field, "current": json_value(c.current), "proposed": json_value(c.proposed)} for c in preview.changes],
        "rows": [_dump(r) for r in preview.rows if r.difference or r in moving],
        "totals": [_dump(t) for t in preview.totals],
        "pools": [_dump(p) for p in preview.pools],
        "verdict_changes": [_dump(v) for v in preview.verdict_changes],
        "scores_changed": preview.scores_changed,
    }


def whatif_preview_load(*, run: WhatIfRun) -> WhatIfPreview:
    """The preview a finished run computed, read back from its result: the same changes, rows,
    gainers, losers, totals, pools and verdict changes, to the cent. The proposed campaign, the
    rewards and the summaries are not kept (None and empty)."""
    data = run.result
    rows = tuple(_load(RewardChange, r) for r in data["rows"])
    return WhatIfPreview(
        campaign=run.campaign,
        proposed=None,
        at=datetime.fromisoformat(data["at"]),
        fingerprint=data["fingerprint"],
        changes=tuple(ConfigChange(c["field"], str(Campaign._meta.get_field(c["field"]).verbose_name), c["current"], c["proposed"]) for c in data["changes"]),
        rows=rows,
        gainers=gainers(rows),
        losers=losers(rows),
        totals=tuple(_load(KindTotal, t) for t in data["totals"]),
        pools=tuple(_load(PoolTotal, p) for p in data["pools"]),
        verdict_changes=tuple(_load(VerdictChange, v) for v in data["verdict_changes"]),
        scores_changed=data["scores_changed"],
        current_rewards=(),
        proposed_rewards=(),
    )


def whatif_applied_result(applied: WhatIfApplied) -> dict:
    """What an apply run keeps, as JSON: the fields it changed (old and new), the verdicts that
    changed, its audit entry and the settlement it queued (its run, instant and `triggered_by`)."""
    return {
        "changes": [{"field": c.field, "current": json_value(c.current), "proposed": json_value(c.proposed)} for c in applied.changes],
        "verdicts_changed": applied.verdicts_changed,
        "log_entry": applied.log_entry.pk,
        "settle_at": applied.settle_at.isoformat(),
        "triggered_by": applied.triggered_by,
        "settlement_run": applied.settlement_run_id,
    }


def whatif_run_changes(*, run: WhatIfRun) -> tuple[tuple[ConfigChange, ...], bool]:
    """The settings `run` changes, each with its value before and after, and whether "before" is
    the configuration now rather than the one the run was computed under.

    A finished run kept its changes against the configuration it read (`whatif_preview_result`,
    `whatif_applied_result`). A run not finished, or failed, kept only what was proposed: that is
    set against the configuration now, normalised as a preview would (`campaign_with_changes`);
    a proposal the configuration now refuses is shown field by field as it was typed.
    """
    if "changes" in run.result:
        return tuple(ConfigChange(c["field"], str(Campaign._meta.get_field(c["field"]).verbose_name), c["current"], c["proposed"]) for c in run.result["changes"]), False
    campaign = run.campaign
    try:
        return config_changes(campaign, campaign_with_changes(campaign=campaign, changes=run.changes)), True
    except ValidationError:
        pass
    changes = []
    for name in WHATIF_FIELDS:
        current = json_value(getattr(campaign, name))
        if name in run.changes and run.changes[name] != current:
            changes.append(ConfigChange(name, str(Campaign._meta.get_field(name).verbose_name), current, run.changes[name]))
    return tuple(changes), True
