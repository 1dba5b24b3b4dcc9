import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app


@pytest.fixture
def celery_worker(transactional_db, _require_services):
    """A real Celery worker thread consuming from the real Redis broker.

    Function-scoped on purpose: it must see the rows each test commits (transactional_db).
    """
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = app.conf.get("CELERY_TASK_ALWAYS_EAGER", app.conf.task_always_eager)
