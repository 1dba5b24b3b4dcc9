"""Enrolment exactly as RULES.md section 2, at every boundary."""

from datetime import timedelta

import pytest

from campaign import enrolment as e
from campaign.selectors import enrolment_map
from campaign.services import signups_import
from core.parsing import parse_instant
from traders.services import registrations_import

START = parse_instant("2026-02-12T18:00:00+08:00", "start")
END = parse_instant("2026-02-25T00:00:00+08:00", "end")
APPROVED = ("approved", "futures")


def evaluate(registration=APPROVED, signups=()):
    return e.enrolment_evaluate(uid=1, registration=registration, signups=list(signups), starts_at=START, ends_at=END).reason


@pytest.mark.parametrize(
    "submitted, expected",
    [
        ("2026-02-12T18:00:00+08:00", e.ENROLLED),  # window start is inclusive
        ("2026-02-12T10:00:00Z", e.ENROLLED),  # the same instant written in UTC
        ("2026-02-12T05:00:00-05:00", e.ENROLLED),  # ... and at -05:00
        ("2026-02-12T17:59:59+08:00", e.SIGNUP_OUTSIDE_WINDOW),
        ("2026-02-12T09:59:59.999999Z", e.SIGNUP_OUTSIDE_WINDOW),
        ("2026-02-24T23:59:59+08:00", e.ENROLLED),
        ("2026-02-25T00:00:00+08:00", e.SIGNUP_OUTSIDE_WINDOW),  # window end is exclusive
        ("2026-02-24T16:00:00Z", e.SIGNUP_OUTSIDE_WINDOW),
        ("2026-02-24T10:59:59-05:00", e.ENROLLED),  # 15:59:59Z, one second before the end
        ("2026-02-24T11:00:00-05:00", e.SIGNUP_OUTSIDE_WINDOW),
    ],
)
def test_a_signup_counts_only_inside_the_window_compared_as_instants(submitted, expected):
    assert evaluate(signups=[parse_instant(submitted, "submitted_at")]) == expected


def test_an_instant_without_an_offset_is_refused_not_guessed():
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2026-02-13T10:00:00", "submitted_at")


@pytest.mark.parametrize(
    "registration, expected",
    [
        (None, e.NO_REGISTRATION),
        (("pending", "futures"), e.REGISTRATION_PENDING),
        (("rejected", "futures"), e.REGISTRATION_REJECTED),
        (("revoked", "futures"), e.REGISTRATION_REVOKED),
        (("approved", "spot"), e.SPOT_MARKET),
        (("pending", "spot"), e.REGISTRATION_PENDING),
    ],
)
def test_the_registration_must_be_approved_on_futures(registration, expected):
    assert evaluate(registration=registration, signups=[START]) == expected


def test_an_approved_trader_without_a_signup_is_not_enrolled():
    assert evaluate(signups=[]) == e.NO_SIGNUP


def test_any_signup_inside_the_window_is_enough():
    outside = START - timedelta(days=1)
    assert evaluate(signups=[outside, END, START + timedelta(days=2)]) == e.ENROLLED
    assert evaluate(signups=[outside, END]) == e.SIGNUP_OUTSIDE_WINDOW


REGISTRATIONS = b"""uid,nickname,market,status,applied_at,approved_at
101,alice,futures,approved,2026-02-01T10:00:00+08:00,2026-02-20T10:00:00+08:00
102,bob,futures,pending,2026-02-01T10:00:00+08:00,
103,carol,spot,approved,2026-02-01T10:00:00Z,
"""
SIGNUPS = b"""uid,submitted_at,square_handle,contact
101,2026-02-11T10:00:00Z,alice_sq,tg:@alice
101,2026-02-13T10:00:00Z,alice_sq,tg:@alice
102,2026-02-13T10:00:00Z,bob_sq,
103,2026-02-13T10:00:00Z,carol_sq,
104,2026-02-13T10:00:00Z,dave_sq,
"""


@pytest.mark.django_db
@pytest.mark.parametrize("registrations_first", [True, False])
def test_enrolment_does_not_depend_on_the_order_files_arrive_in(campaign, registrations_first):
    steps = [lambda: registrations_import(data=REGISTRATIONS), lambda: signups_import(campaign=campaign, data=SIGNUPS)]
    for step in steps if registrations_first else reversed(steps):
        assert step().ok
    reasons = {uid: en.reason for uid, en in enrolment_map(campaign=campaign).items()}
    # approved_at after the sign-up plays no part for 101.
    assert reasons == {101: e.ENROLLED, 102: e.REGISTRATION_PENDING, 103: e.SPOT_MARKET, 104: e.NO_REGISTRATION}


@pytest.mark.django_db
def test_a_signup_without_registration_starts_to_count_when_the_registration_arrives(campaign):
    signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n555,2026-02-14T12:00:00+08:00,x,\n")
    assert enrolment_map(campaign=campaign, uids=[555])[555].reason == e.NO_REGISTRATION
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n555,eve,futures,approved,2026-02-14T12:00:00+08:00,\n")
    assert enrolment_map(campaign=campaign, uids=[555])[555].enrolled


@pytest.mark.django_db
def test_a_later_registration_import_replaces_the_older_one_whole(campaign):
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n7,old,futures,approved,2026-02-01T00:00:00Z,2026-02-02T00:00:00Z\n")
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n7,new,futures,revoked,2026-02-01T00:00:00Z,\n")
    signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n7,2026-02-14T12:00:00+08:00,x,\n")
    from traders.models import Trader

    trader = Trader.objects.select_related("registration").get(uid=7)
    assert (trader.nickname, trader.registration.status, trader.registration.approved_at) == ("new", "revoked", None)
    assert enrolment_map(campaign=campaign, uids=[7])[7].reason == e.REGISTRATION_REVOKED
