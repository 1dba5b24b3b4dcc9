"""The rewards API views, one module per resource: `public` (leaderboard, trader status), `ledger`
(rewards, approval, payment, pool budgets), `review_items` (review items, adjustments),
`settlements` (start, follow, runs), `reports` (payout and adjustments downloads, stored reports).

Thin shells: each view parses its input, calls one selector or service, and serializes.
"""
