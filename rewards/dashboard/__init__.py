"""Reads for the ops dashboard of a campaign, one module per panel or page; import from the module
that serves you. No module writes.

- `page`: `campaign_dashboard_get`, every number the dashboard page shows in one dataclass, with
  the campaign's progress (phase, periods and their due dates, registrations, sign-ups,
  enrolment, posts per verdict and per UTC+8 day) and the lists of work (review items, imports,
  payout reports).
- `ledger`: the money panels: the latest settlement's summary, the rewards table by kind and
  state, the content pools' shares per creator, and the adjustments per asset.
- `since`: `since_settlement_get`, what changed since the latest settlement (may settling again
  change the ledger?).
- `charts`: `campaign_dashboard_charts`, the page's SVG charts, drawn from its numbers.
- `preview`: `settlement_preview_get`, what settling now would do to the ledger (its own page).

Counts are taken in the database (GROUP BY), except enrolment, which is a rule over each trader's
registration and sign-ups (`campaign.selectors.enrolment_map`, the same reading settlement uses).
Days are UTC+8 calendar days (RULES.md section 7). Money stays `Decimal` with two decimals, and
every total is per asset. The pool budgets are `rewards.budgets`.
"""
