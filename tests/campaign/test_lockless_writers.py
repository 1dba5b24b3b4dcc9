"""Guards for writers that take no campaign lock (the webhook's worker): whatever they commit while
the index or the judging runs must still be indexed and judged from its own text.

The races themselves were reproduced on PostgreSQL with threads (a copy committed during a
rebuild was left unindexed and paid as original; facts of an old text were stored over a new
one); these tests pin each guard deterministically on the real database.
"""

import json

import numpy as np
import pytest

from campaign.models import Post
from campaign.near_duplicates import text_signature
from campaign.near_duplicates.db import CorpusRows, PostRows, hash64, stale_clear
from campaign.services import posts_import_file
from campaign.services.posts import WRITTEN, _posts_upsert
from tests.factories import OTHER_TEXTS, enrolled_trader, post_item
from traders.models import Trader

pytestmark = pytest.mark.django_db


def jsonl(*items):
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def test_an_indexed_post_whose_text_changed_meanwhile_stays_waiting_for_the_index(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1), post_item("q", 1, text=OTHER_TEXTS[1])))
    p, q = Post.objects.get(post_id="p"), Post.objects.get(post_id="q")
    read = [(p.pk, hash64(p.content_hash)), (q.pk, hash64(q.content_hash))]  # as the index read them
    Post.objects.filter(pk__in=[p.pk, q.pk]).update(index_stale=True)
    Post.objects.filter(pk=p.pk).update(text=OTHER_TEXTS[0], content_hash="f" * 64)  # a new text, stored meanwhile
    stale_clear(read)
    assert dict(Post.objects.values_list("post_id", "index_stale")) == {"p": True, "q": False}


def test_a_post_streamed_but_not_in_the_rebuilds_list_is_left_out_untouched():
    rows = CorpusRows(reference_ids=np.zeros(0, dtype=np.int64), post_ids=np.array([10, 30], dtype=np.int64))
    sig = text_signature(OTHER_TEXTS[0])
    chunk = [(20, sig, True, 10, None, "a" * 64), (30, sig, True, None, None, "b" * 64)]  # 20: committed between the reads
    rows.take_posts(PostRows.of(chunk))
    assert rows.bands.has.tolist() == [False, True] and rows.stale.tolist() == [False, True]
    assert rows.links.tolist() == [[-1, -1], [-1, -1]]
    assert rows.hashes.tolist() == [0, hash64("b" * 64)]


def test_the_upsert_leaves_a_post_stored_meanwhile_under_another_author_as_it_is(campaign):
    enrolled_trader(uid=1)
    enrolled_trader(uid=2)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, likes=3)))
    stored = Post.objects.get(post_id="p")
    # A writer that read before this post existed sends it as new, under another author.
    other = {name: getattr(stored, Post._meta.get_field(name).attname) for name in WRITTEN}
    other.update(author=Trader.objects.get(uid=2).pk, likes=999, text=OTHER_TEXTS[0], campaign=campaign.pk)
    assert _posts_upsert([tuple(other.values())]) == {}
    again = Post.objects.get(post_id="p")
    assert (again.author.uid, again.likes, again.text) == (1, 3, stored.text)
