#!/usr/bin/env python3
"""The two commands of the README, on a fresh machine that has only Python 3.11.

    python3 dev.py run     set up, migrate, load the demo campaign data, settle, serve the site
    python3 dev.py test    set up and run the whole test suite (extra arguments go to pytest)

Both create `.venv` and install the pinned requirements when they changed. With no environment
set, `run` uses the embedded default: SQLite and eager (in-process) Celery tasks.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-test.txt"]


def setup():
    if sys.version_info[:2] < (3, 11):
        sys.exit("Python 3.11 or newer is needed (found %d.%d)" % sys.version_info[:2])
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in REQUIREMENTS)).hexdigest()
    stamp = VENV / ".requirements.sha256"
    if not stamp.exists() or stamp.read_text() != digest:
        print("installing pinned requirements (requirements-test.txt)", flush=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-test.txt")], check=True)
        stamp.write_text(digest)


def manage(*args, env):
    subprocess.run([str(PYTHON), str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT)


def run(argv):
    env = {**os.environ}
    env.setdefault("DEBUG", "true")
    port = argv[0] if argv else env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("demo", env=env)
    print(f"\nServing on http://127.0.0.1:{port}/  (Ctrl-C to stop)\n", flush=True)
    os.execve(str(PYTHON), [str(PYTHON), str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"], env)


def test(argv):
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "pytest", *argv])


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        sys.exit(__doc__)
    setup()
    (run if sys.argv[1] == "run" else test)(sys.argv[2:])


if __name__ == "__main__":
    main()
