"""The what-if preview's engine: the judging and the duplicate links of the real settlement, run
under an unsaved configuration without writing anything.

- Links: a threshold change (or an index that is behind) is decided by the rebuild engine of
  `duplicates_rebuild`, from the stored signatures (`CampaignCorpus`, `earlier_matches`): no text is
  hashed again, texts are read only for the pairs that reach the exact decision, and one read of
  the signatures serves every threshold asked for. Nothing is written (no band row, no link).
- Verdicts: the posts are streamed in batches of `JUDGE_BATCH` as `JudgeRow`s (the values
  `posts_judge` reads, `JUDGE_FIELDS`) and judged under each configuration by its `Judging`
  (`post_judgement`, with one memo of decisions by facts for the whole stream). Checks 4 and 5
  come from the facts stored at ingest; where they were computed under another lexicon, the texts
  of that batch alone are read, and only for posts whose verdict can depend on them.

Per post, only plain values live beyond a batch: the links as numpy arrays, and what the reward
rules need of a qualifying post (`QualifiedPost`).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction

import numpy as np

from campaign.models import Campaign, Post
from campaign.near_duplicates import earlier_matches
from campaign.near_duplicates.db import CampaignCorpus, PostRows, texts_read
from campaign.qualification import APPROVED, Lexicon, lexicon_key
from campaign.selectors import enrolment_map
from campaign.services.judging import JUDGE_BATCH, JudgeRow, Judging, campaign_lexicon
from core.database import rows_batches

# A `JudgeRow`'s columns by name (what `JUDGE_FIELDS` reads, the author as its uid), then what a
# qualifying post is to the reward rules (post_id) and the author's row, which ops' exclusions name.
_ROW_COLUMNS = tuple({"pk": "id", "author_uid": "author__uid"}.get(f.name, f.name) for f in fields(JudgeRow) if f.name != "text")
PREVIEW_FIELDS = (*_ROW_COLUMNS, "post_id", "author_id")
_JUDGED = len(_ROW_COLUMNS)


@dataclass(frozen=True)
class Links:
    """The duplicate link of every post a rebuild decided: `pks` ascending, `dup` the earlier post's
    pk and `ref` the reference text's pk (-1: none). A post absent (stored after the signatures were
    read) keeps its stored link."""

    pks: np.ndarray
    dup: np.ndarray
    ref: np.ndarray

    def lookup(self, pks: list[int]) -> list[tuple[int | None, int | None] | None]:
        """(duplicate_of, duplicate_of_reference) of each pk, None where this rebuild did not see it."""
        if not len(self.pks):
            return [None] * len(pks)
        wanted = np.asarray(pks, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.pks, wanted), len(self.pks) - 1)
        found = (self.pks[at] == wanted).tolist()
        dups, refs = self.dup[at].tolist(), self.ref[at].tolist()
        return [((None if d < 0 else d), (None if r < 0 else r)) if ok else None for ok, d, r in zip(found, dups, refs)]

    def as_dict(self) -> dict[int, tuple[int | None, int | None]]:
        """{pk: link} of the posts that have one (the shape of a test's or a comparison's answer)."""
        linked = np.nonzero((self.dup >= 0) | (self.ref >= 0))[0]
        return {pk: link for pk, link in zip(self.pks[linked].tolist(), self.lookup(self.pks[linked].tolist()))}


class _CountedCorpus(CampaignCorpus):
    """`CampaignCorpus`, telling `on_chunk(posts)` after each chunk of the signatures' stream and
    `on_texts()` each time the decision reads a batch of texts (its only sign of life)."""

    def __init__(self, campaign: Campaign, on_chunk: Callable[[int], None], on_texts: Callable[[], None]):
        self._on_chunk, self._on_texts = on_chunk, on_texts
        super().__init__(campaign)

    def take_posts(self, chunk: PostRows) -> None:
        super().take_posts(chunk)
        self._on_chunk(len(chunk.ids))

    def texts(self, rows: list[int]) -> list[str]:
        found = super().texts(rows)
        self._on_texts()
        return found


def links_decide(
    *, campaign: Campaign, thresholds: list[Decimal], stored: Decimal | None = None, on_read=None, on_texts=None, on_decided=None
) -> list[Links]:
    """The links `duplicates_rebuild` would store under each threshold, from one read of the stored
    signatures and reference texts of `campaign`. Reads only.

    `stored`: the threshold the stored links are exactly the answer of (the index caught up and
    built under it), None when they are not. A threshold at least as strict as one whose links
    are known (stored, or decided here before it) only decides what those links leave possible
    (`earlier_matches`'s `looser`): a post with no link keeps none, a linked one is linked at
    its link or later.

    `on_read(posts)` is told after each chunk of the signatures read, `on_texts()` after each batch
    of texts a decision reads, `on_decided(i)` after the links of `thresholds[i]` are decided.
    """
    corpus = _CountedCorpus(campaign, on_read or (lambda posts: None), on_texts or (lambda: None))
    owners = corpus.owners
    posts = owners > 0
    by_pk = np.argsort(owners[posts], kind="stable")
    pks = owners[posts][by_pk]
    known = [] if stored is None else [(Fraction(stored), corpus.stored_matches())]
    found = []
    for i, threshold in enumerate(thresholds):
        looser = max((k for k in known if k[0] <= Fraction(threshold)), key=lambda k: k[0], default=None)
        match = earlier_matches(corpus.bands, corpus, threshold=Fraction(threshold), looser=None if looser is None else looser[1])
        known.append((Fraction(threshold), match))
        # As duplicates_rebuild maps them: an owner > 0 is a post, < 0 a reference text.
        target = np.where(match >= 0, owners[np.maximum(match, 0)], 0)[posts][by_pk]
        found.append(Links(pks=pks, dup=np.where(target > 0, target, -1), ref=np.where(target < 0, -target, -1)))
        if on_decided is not None:
            on_decided(i)
    return found


@dataclass(frozen=True)
class Side:
    """One configuration to judge under: the campaign (or its unsaved copy) and its links (None:
    the stored ones)."""

    config: Campaign
    links: Links | None = None


@dataclass(frozen=True)
class JudgedBatch:
    """A batch of posts judged under each side: `rows` as `PREVIEW_FIELDS` read them, `judged[s][i]`
    the (verdict, score) of `rows[i]` under side s."""

    rows: list[tuple]
    judged: tuple[list[tuple[str, int]], ...]


def _text_matters(config: Campaign, row: JudgeRow, enrolled: bool) -> bool:
    # Checks 1 to 3 fail (or an approval waives 4 to 6) before the text is looked at.
    return config.in_window(row.created_at) and enrolled and not row.deleted and row.moderation != APPROVED


def judged_batches(*, campaign: Campaign, sides: list[Side], size: int = JUDGE_BATCH) -> Iterator[JudgedBatch]:
    """Every post of `campaign` judged under each side, streamed in batches of `size`; reads only.

    The verdicts are `post_judgement`'s, as `posts_judge` stores them. Texts are read only where
    checks 4 and 5 need them: in the stream when a side's lexicon is not the campaign's, otherwise
    by id for the posts whose stored facts were computed under another lexicon and whose verdict
    can depend on them. Nothing of a batch outlives it but what the caller keeps.
    """
    lexicons: list[tuple[Lexicon, str]] = [(lexicon, lexicon_key(lexicon)) for lexicon in (campaign_lexicon(side.config) for side in sides)]
    # Under another lexicon than the campaign's, nearly every text is needed: they come in the
    # stream itself (one sequential read) rather than by id afterwards.
    streamed = any(key != lexicon_key(campaign_lexicon(campaign)) for _lexicon, key in lexicons)
    # One judging a side for the whole stream: its memo of decisions by facts serves every batch.
    judgings = [Judging(side.config, lexicon) for side, (lexicon, _key) in zip(sides, lexicons)]
    enrolled: dict = {}
    stream = Post.objects.filter(campaign=campaign).order_by().values_list(*PREVIEW_FIELDS, *(["text"] if streamed else []))
    for rows in rows_batches(stream, size=size):
        posts = [JudgeRow(*row[:_JUDGED]) for row in rows]
        unknown = {post.author_uid for post in posts} - enrolled.keys()
        if unknown:
            enrolled.update((uid, e.enrolled) for uid, e in enrolment_map(campaign=campaign, uids=unknown).items())
        if streamed:
            for post, row in zip(posts, rows):
                post.text = row[-1]
            rows = [row[:-1] for row in rows]
        else:
            wanted = [
                post.pk
                for post in posts
                if any(
                    (post.text_length is None or post.trading_term is None or post.lexicon_key != key)
                    and _text_matters(side.config, post, enrolled[post.author_uid])
                    for side, (_lexicon, key) in zip(sides, lexicons)
                )
            ]
            if wanted:
                texts = texts_read(wanted)
                for post in posts:
                    post.text = texts.get(post.pk, "")
        stored = [(post.duplicate_of_id, post.duplicate_of_reference_id) for post in posts]
        judged = []
        for side, judging in zip(sides, judgings):
            links = stored if side.links is None else [found or own for found, own in zip(side.links.lookup([p.pk for p in posts]), stored)]
            verdicts = []
            for post, (dup, ref) in zip(posts, links):
                post.duplicate_of_id, post.duplicate_of_reference_id = dup, ref
                verdicts.append(judging.post(post, enrolled=enrolled[post.author_uid]))
            judged.append(verdicts)
        yield JudgedBatch(rows=rows, judged=tuple(judged))
