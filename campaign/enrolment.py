"""Enrolment (RULES.md section 2) as a pure function of a trader's registration and sign-ups."""

from dataclasses import dataclass
from datetime import datetime

ENROLLED = "enrolled"
NO_REGISTRATION = "no_registration"
REGISTRATION_PENDING = "registration_pending"
REGISTRATION_REJECTED = "registration_rejected"
REGISTRATION_REVOKED = "registration_revoked"
SPOT_MARKET = "spot_market"
NO_SIGNUP = "no_signup"
SIGNUP_OUTSIDE_WINDOW = "signup_outside_window"

_STATUS_REASONS = {
    "pending": REGISTRATION_PENDING,
    "rejected": REGISTRATION_REJECTED,
    "revoked": REGISTRATION_REVOKED,
}


@dataclass(frozen=True)
class Enrolment:
    uid: int
    reason: str

    @property
    def enrolled(self) -> bool:
        return self.reason == ENROLLED


def enrolment_evaluate(
    *,
    uid: int,
    registration: tuple[str, str] | None,
    signups: list[datetime],
    starts_at: datetime,
    ends_at: datetime,
) -> Enrolment:
    """Whether a trader is enrolled, and if not the first reason why.

    `registration` is (status, market) of the trader's current registration or None. It counts
    when approved on futures; the sign-up counts when any `submitted_at` lies in [start, end).
    The order of the steps plays no part and `approved_at` is ignored, as RULES.md says. The
    registration is checked first, so a trader missing both is reported as `no_registration`.
    """
    return enrolment_decide(
        uid=uid,
        registration=registration,
        signed_up=bool(signups),
        signed_up_in_window=any(starts_at <= submitted < ends_at for submitted in signups),
    )


def enrolment_decide(*, uid: int, registration: tuple[str, str] | None, signed_up: bool, signed_up_in_window: bool) -> Enrolment:
    """`enrolment_evaluate` for a caller that already knows whether the trader signed up at all
    and whether any sign-up lies inside the window (a database query can say so for many)."""
    if registration is None:
        return Enrolment(uid, NO_REGISTRATION)
    status, market = registration
    if status != "approved":
        return Enrolment(uid, _STATUS_REASONS.get(status, REGISTRATION_PENDING))
    if market != "futures":
        return Enrolment(uid, SPOT_MARKET)
    if not signed_up:
        return Enrolment(uid, NO_SIGNUP)
    if not signed_up_in_window:
        return Enrolment(uid, SIGNUP_OUTSIDE_WINDOW)
    return Enrolment(uid, ENROLLED)
