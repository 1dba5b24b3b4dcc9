"""Reads for the rewards pages, one module per page or reader; import from the module that serves you.

- `links`: the status link's signed token, its URL, and the link a token stands for.
- `board`: the latest settlement's leaderboard and the campaign's window, read by both pages.
- `posts`: the trader's posts and ops' exclusions as they are now, what a breakdown explains against.
- `breakdown`: every cent explained, the breakdown of a reward or of a review item's computation.
- `status`: the trader's status page (by signed link).
- `status_posts`: what the status page reads of the posts: counts in SQL, one page, the first lines of each breakdown.
- `breakdown_pages`: one reward's breakdown a page at a time (its long lists), opened from the status page.
- `public`: the public campaign page (leaderboard, weekly stars, featured and homepage posts).
- `ledger`: the admin's ledger pages (totals per asset, closing review items, adjustment reports).

Neither page computes the leaderboard again: the public page reads the latest settlement run's
summary, and the status page the trader's leaderboard reward (the computation its amount is) or,
without one, that same summary. What a trader sees is then what the ledger was written from, and
the pages stay cheap. Each selector runs a fixed number of queries, whatever the number of posts
or traders.
"""
