#!/usr/bin/env python3
"""The README's commands, on a fresh machine that has only Python 3.11.

    python3 dev.py run          set up, migrate, load the demo campaign data, settle, serve the site
    python3 dev.py test         set up and run the whole test suite (extra arguments go to pytest)
    python3 dev.py screenshots  re-make the README's screenshots in docs/screenshots/ (Chromium, axe-core)

All create `.venv` and install the pinned requirements when they changed. With no environment
set, `run` uses the embedded default: SQLite and eager (in-process) Celery tasks. `test` and
`screenshots` also install axe-core (package-lock.json) for the accessibility tests when npm is
here and node_modules/ is missing or behind the lock; without npm those tests are skipped.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-test.txt"]
# The README's screenshots: every page at both widths in English, the trader pages on a phone in Chinese.
SCREENSHOTS = "en-US or (390 and zh-CN and (status or public))"


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


def node_setup():
    """`npm ci` when a package the lock pins is missing from node_modules/ or of another version.
    Only the accessibility tests need it, so without npm (or offline) the rest still runs."""
    npm = shutil.which("npm")
    if npm is None:
        return
    pinned = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for where, package in pinned.items():
        manifest = ROOT / where / "package.json"
        if where and (not manifest.exists() or json.loads(manifest.read_text()).get("version") != package["version"]):
            print("installing the pinned npm packages (package-lock.json)", flush=True)
            if subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, stdout=subprocess.DEVNULL).returncode:
                print("npm ci failed: the accessibility tests will be skipped (failed under CI)", flush=True)
            return


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
    node_setup()
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "pytest", *argv])


def screenshots(argv):
    node_setup()
    os.chdir(ROOT)
    env = {**os.environ, "SCREENSHOTS_DIR": str(ROOT / "docs" / "screenshots")}
    os.execve(str(PYTHON), [str(PYTHON), "-m", "pytest", "tests/e2e/test_pages_a11y.py", "-k", SCREENSHOTS, *argv], env)


def main():
    commands = {"run": run, "test": test, "screenshots": screenshots}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    setup()
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
