"""Every model change has its migration: a field, an option or a verbose name changed without one
would make the next `makemigrations` write it on someone else's branch, or production's schema
differ from the models."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db  # makemigrations reads the applied migrations to check their history
def test_the_models_and_the_migrations_agree():
    out = io.StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    except SystemExit as exit:  # --check exits 1 when a migration is missing
        raise AssertionError(f"models changed without a migration:\n{out.getvalue()}") from exit
    assert "No changes detected" in out.getvalue()
