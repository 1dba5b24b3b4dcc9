"""The campaign row lock (`campaign_lock`, `campaigns_lock`) on PostgreSQL: a second taker waits
while the first holds it, inserting a post (a key-share lock on the campaign) never does, and
several campaigns are locked in primary-key order. Outside a transaction it refuses on both
databases."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from campaign.models import Campaign
from campaign.services import campaign_lock, campaigns_lock

WAIT = 60  # seconds before a stuck thread fails the test instead of hanging it


def _copy(campaign: Campaign, slug: str) -> Campaign:
    other = Campaign.objects.get(pk=campaign.pk)
    other.pk, other.slug = None, slug
    other.save()
    return other


def _waiting_on_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.postgres
def test_a_second_transaction_waits_for_the_campaign_lock(transactional_db, campaign):
    held, release, second_pid, order, errors = threading.Event(), threading.Event(), [], [], []

    def first():
        try:
            with transaction.atomic():
                assert campaign_lock(campaign.pk).slug == campaign.slug
                held.set()
                release.wait(WAIT)
                order.append("first released")
        except Exception as exc:  # noqa: BLE001 - the assertion below reports whatever went wrong
            errors.append(exc)
        finally:
            connection.close()

    def second():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    second_pid.append(cursor.fetchone()[0])
                campaign_lock(campaign)
                order.append("second locked")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert held.wait(WAIT)
    two = threading.Thread(target=second)
    two.start()
    # Wait (event-driven, not timed) until PostgreSQL reports the second transaction blocked on a lock.
    seen = threading.Event()
    try:
        while not seen.is_set() and two.is_alive():
            if second_pid and _waiting_on_a_lock(second_pid[0]):
                seen.set()
            else:
                seen.wait(0.05)
        assert seen.is_set(), f"the second transaction never waited: {order}, {errors}"
        assert order == []
    finally:
        release.set()
    one.join(WAIT)
    two.join(WAIT)
    assert errors == []
    assert order == ["first released", "second locked"]


@pytest.mark.postgres
def test_the_campaign_lock_excludes_its_takers_but_not_inserting_a_post(transactional_db, campaign):
    other = _copy(campaign, "other-campaign")
    probe = {}

    def try_locks():
        try:
            # FOR KEY SHARE is the lock inserting a post (its foreign key to the campaign) takes.
            for name, pk, mode in (("lock", campaign.pk, "NO KEY UPDATE"), ("insert", campaign.pk, "KEY SHARE"), ("other campaign", other.pk, "NO KEY UPDATE")):
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"SELECT id FROM {Campaign._meta.db_table} WHERE id = %s FOR {mode} NOWAIT", [pk])
                        assert cursor.fetchone() == (pk,)
                    probe[name] = "taken"
                except DatabaseError:
                    probe[name] = "refused"
        finally:
            connection.close()

    def probe_while_held():
        probe.clear()
        thread = threading.Thread(target=try_locks)
        thread.start()
        thread.join(WAIT)
        return dict(probe)

    with transaction.atomic():
        campaign_lock(campaign)
        one = probe_while_held()
    with transaction.atomic():
        locked = campaigns_lock([other.pk, campaign.pk, other.pk])
        both = probe_while_held()
    assert one == {"lock": "refused", "insert": "taken", "other campaign": "taken"}
    assert both == {"lock": "refused", "insert": "taken", "other campaign": "refused"}
    assert list(locked) == sorted([campaign.pk, other.pk])
    assert all(c.pk == pk for pk, c in locked.items())


def test_the_campaign_lock_refuses_outside_a_transaction(transactional_db, campaign):
    with pytest.raises(transaction.TransactionManagementError):
        campaign_lock(campaign)
    with pytest.raises(transaction.TransactionManagementError):
        campaigns_lock([campaign.pk])
    with transaction.atomic():
        assert campaign_lock(campaign.pk) == campaign
        assert campaigns_lock([]) == {}
