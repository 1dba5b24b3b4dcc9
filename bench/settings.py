"""Bench-only settings: the project's own settings, plus the /bench/ping/ URLconf.

Selected with DJANGO_SETTINGS_MODULE=bench.settings (the harness does it for itself and for the
gunicorn it starts). Everything else comes from config.settings and the environment, exactly as in
production; only what a loopback benchmark without TLS needs is defaulted here.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-in-production-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MEDIA_ROOT", "/tmp/bench-media")

from config.settings import *  # noqa: E402,F403

ROOT_URLCONF = os.environ.get("BENCH_ROOT_URLCONF", "bench.urls")
