"""The Redis cache backend keeps its redis client (core/cache.py) and still behaves as Django's."""

import threading

import pytest
from django.core.cache import cache, caches

from core.cache import RedisCache

pytestmark = pytest.mark.redis


def test_the_configured_cache_is_ours_and_keeps_one_client_a_pool():
    assert isinstance(caches["default"], RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client() is client and cache._cache.get_client(write=True) is client  # one server: one pool
    assert client.connection_pool is cache._cache._pools[0]


def test_it_reads_writes_counts_and_reads_many_in_one_round_trip_as_django_does():
    page = (7, b"<html>" + b"x" * 57_000)
    cache.set("page", page, timeout=60)
    assert cache.add("version", 7) and not cache.add("version", 8)
    assert cache.incr("version") == 8
    assert cache.get_many(["version", "page", "missing"]) == {"version": 8, "page": page}
    cache.delete("page")
    assert cache.get("page") is None


def test_each_thread_has_its_own_cache_object_and_client():
    # Django keeps one cache object a thread: a kept client is never shared between threads.
    seen, together = [], threading.Barrier(2)

    def note():
        seen.append(caches["default"]._cache.get_client())
        together.wait(timeout=10)  # both threads alive at once

    threads = [threading.Thread(target=note) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = seen
    mine = cache._cache.get_client()
    assert first is not second and mine is not first and mine is not second
