"""The money invariants of the ledger (`rewards.invariants.ledger_violations`) hold after every
reliability test (the fixture `ledger_invariants` is in tests/conftest.py; the property tests of
other modules that touch the database take it with `@pytest.mark.usefixtures`)."""

import pytest


@pytest.fixture(autouse=True)
def _ledger_invariants_after_every_reliability_test(ledger_invariants):
    """Every test of tests/reliability ends with the ledger check."""
