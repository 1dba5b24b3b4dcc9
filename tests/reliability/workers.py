"""Real Celery worker processes for the fault tests, on the test database and a given Redis."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY = 3  # seconds before Redis hands an unacknowledged task to another worker


def database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue, log, redis_url=None, **extra_env):
    env = {
        **os.environ,
        **extra_env,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url or settings.REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue, "-l", "INFO",
           "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


