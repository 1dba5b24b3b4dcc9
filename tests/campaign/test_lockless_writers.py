"""Guards for writers that take no campaign lock (the webhook's worker): whatever they commit while
the index or the judging runs must still be indexed and judged from its own text.

The races themselves were reproduced on PostgreSQL with threads (a copy committed during a
rebuild was left unindexed and paid as original; facts of an old text were stored over a new
one); these tests pin each guard deterministically on the real database.
"""

import json

import numpy as np
import pytest
from django.db import connection

from campaign.models import Post
from campaign.services import posts_import_file
from campaign.services.duplicates import _hash64, _stale_clear, _take_posts
from campaign.services.posts import _posts_upsert
from tests.factories import OTHER_TEXTS, enrolled_trader, post_item
from traders.models import Trader

pytestmark = pytest.mark.django_db


def jsonl(*items):
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def test_an_indexed_post_whose_text_changed_meanwhile_stays_waiting_for_the_index(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1), post_item("q", 1, text=OTHER_TEXTS[1])))
    p, q = Post.objects.get(post_id="p"), Post.objects.get(post_id="q")
    read = [(p.pk, _hash64(p.content_hash)), (q.pk, _hash64(q.content_hash))]  # as the index read them
    Post.objects.filter(pk__in=[p.pk, q.pk]).update(index_stale=True)
    Post.objects.filter(pk=p.pk).update(text=OTHER_TEXTS[0], content_hash="f" * 64)  # a new text, stored meanwhile
    _stale_clear(read)
    stale = dict(Post.objects.values_list("post_id", "index_stale"))
    if connection.vendor == "postgresql":
        assert stale == {"p": True, "q": False}
    else:  # SQLite has one writer at a time: nothing can change meanwhile, every read post is cleared
        assert stale == {"p": False, "q": False}


def test_a_post_streamed_but_not_in_the_rebuilds_list_is_left_out_untouched():
    posts = np.array([10, 30], dtype=np.int64)
    sorter = np.argsort(posts)
    stale, hashes = np.zeros(2, dtype=bool), np.zeros(2, dtype=np.int64)
    links = np.full((2, 2), -1, dtype=np.int64)
    taken = []
    chunk = [(20, b"", True, 10, None, "a" * 64), (30, b"", True, None, None, "b" * 64)]  # 20: committed between the reads
    _take_posts(chunk, posts, sorter, 0, lambda rows, sigs: taken.extend(rows.tolist()), stale, links, hashes)
    assert taken == [1] and stale.tolist() == [False, True] and links.tolist() == [[-1, -1], [-1, -1]]
    assert hashes.tolist() == [0, _hash64("b" * 64)]


@pytest.mark.postgres
def test_the_upsert_leaves_a_post_stored_meanwhile_under_another_author_as_it_is(campaign):
    enrolled_trader(uid=1)
    enrolled_trader(uid=2)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, likes=3)))
    stored = Post.objects.get(post_id="p")
    # A writer that read before this post existed sends it as new, under another author.
    other = Post(**{f.attname: getattr(stored, f.attname) for f in Post._meta.concrete_fields if not f.primary_key})
    other.author_id, other.likes, other.text = Trader.objects.get(uid=2).pk, 999, OTHER_TEXTS[0]
    assert _posts_upsert(campaign, [other]) == {}
    again = Post.objects.get(post_id="p")
    assert (again.author.uid, again.likes, again.text) == (1, 3, stored.text)
