"""The SVG charts of the ops dashboard, drawn from its numbers (`rewards.dashboard.page`) with
`rewards.charts`: posts per UTC+8 day, each content pool's shares per creator, and the
leaderboard's top scores of the latest settlement. No reads of their own.
"""

from django.utils.translation import gettext as _

from rewards.charts import Bar, Reference, Series, horizontal_bars, stacked_columns
from rewards.dashboard.ledger import CHART_LEADERS
from rewards.dashboard.page import CampaignDashboard

CHART_CREATORS = 25
QUALIFIED_COLOUR = "#1a7f37"
OTHER_COLOUR = "#afb8c1"


def campaign_dashboard_charts(dashboard: CampaignDashboard) -> dict[str, str]:
    """The dashboard's SVG charts by name: `posts_per_day`, `leaderboard`, and one
    `pool_<period>` per content period with rewards (largest shares first, at most 25 bars)."""
    days = dashboard.posts_per_day
    charts = {
        "posts_per_day": stacked_columns(
            chart_id="chart-posts-per-day",
            title=_("Posts per day (UTC+8)"),
            categories=[d.day.strftime("%m-%d") for d in days],
            series=[
                Series(_("qualified"), QUALIFIED_COLOUR, [d.qualified for d in days]),
                Series(_("not qualified"), OTHER_COLOUR, [d.not_qualified for d in days]),
            ],
            empty_text=_("No posts in the window yet."),
        )
    }
    campaign = dashboard.campaign
    for period, shares in dashboard.pool_shares:
        shown = shares[:CHART_CREATORS]
        title = _("Content pool %(period)s per creator") % {"period": period}
        if len(shares) > len(shown):
            title += " " + _("(largest %(shown)d of %(total)d)") % {"shown": len(shown), "total": len(shares)}
        charts[f"pool_{period}"] = horizontal_bars(
            chart_id=f"chart-pool-{period}",
            title=title,
            bars=[
                Bar(f"{s.uid} {s.nickname}".strip(), s.amount, f"{s.amount} {s.asset}" + (" " + _("(preview)") if s.preview else ""),
                    "#8c959f" if s.preview else "#0969da")
                for s in shown
            ],  # fmt: skip
            reference=Reference(campaign.pool_cap, _("cap %(amount)s") % {"amount": campaign.pool_cap}),
            empty_text=_("No content pool rewards."),
        )
    run = dashboard.latest_run
    top = run.leaderboard.top if run and run.leaderboard else ()
    charts["leaderboard"] = horizontal_bars(
        chart_id="chart-leaderboard",
        title=_("Leaderboard: Top %(n)d scores") % {"n": CHART_LEADERS},
        bars=[Bar(f"#{e.rank} {e.uid} {e.nickname}".strip(), e.score, colour="#8250df") for e in top],
        empty_text=_("No ranked traders in the latest settlement."),
    )
    return charts
