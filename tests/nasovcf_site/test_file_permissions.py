"""Patient data on disk is the app's user's alone: var/ 0700, the SQLite database and its -wal and
-shm files 0600 (issue 12, finding 1: they were 0644 in a 0755 var/, readable by every local
account), and so is every other file the app writes there. The static files live outside var/.

Each check runs the app in a subprocess with the default umask (022), as `make run` would, on a
var/ directory of its own and a SQLite database (whatever DATABASE_URL the suite runs with).
"""

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from nasovcf_site.private_files import private_directory, private_sqlite_database, tighten

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300

# While its connection is still open (so the -wal and -shm files exist, as they do while the app
# runs), the app writes a row, makes its pseudonym key and a backup, and lists the mode of every
# file and directory under var/.
PROBE = """
import io, json, os, stat, django
django.setup()
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from cohort.exports import pseudonym_key
Group.objects.get_or_create(name="permissions-probe")
pseudonym_key()
call_command("backup", stdout=io.StringIO())
modes = {".": stat.S_IMODE(os.stat(settings.VAR_DIR).st_mode)}
for folder, directories, files in os.walk(settings.VAR_DIR):
    for name in directories + files:
        path = os.path.join(folder, name)
        modes[os.path.relpath(path, settings.VAR_DIR)] = stat.S_IMODE(os.stat(path).st_mode)
print(json.dumps(modes))
"""

PATHS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({"static_root": str(settings.STATIC_ROOT), "var_dir": str(settings.VAR_DIR)}))
"""


def app_environment(var_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "NASOVCF_"))}
    return {**env, "NASOVCF_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "nasovcf_site.settings", **extra}


def run_app(env: dict, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        umask=0o022,  # the usual default: what a file gets when nobody chooses its mode
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def probe(env: dict, script: str = PROBE) -> dict:
    return json.loads(run_app(env, "-c", script).splitlines()[-1])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_var_directory_and_sqlite_database_are_the_apps_users_alone(tmp_path):
    var_dir = tmp_path / "new" / "var"  # does not exist yet: the app makes it
    env = app_environment(var_dir)
    run_app(env, "manage.py", "migrate", "--noinput", "-v0")
    assert mode(var_dir) == 0o700
    assert mode(var_dir / "nasovcf.sqlite3") == 0o600
    assert mode(var_dir / "secret_key") == 0o600

    modes = probe(env)
    assert {"nasovcf.sqlite3", "nasovcf.sqlite3-wal", "nasovcf.sqlite3-shm", "secret_key", "pseudonym_key"} <= set(
        modes
    )
    assert any(name.startswith("backups/") for name in modes)
    for name, found in modes.items():
        wanted = 0o700 if (var_dir / name).is_dir() else 0o600
        assert found == wanted, f"var/{name} is {found:o}, not {wanted:o}"


def test_a_var_directory_and_database_made_readable_by_others_are_tightened(tmp_path):
    """As the code before this fix left them: var/ 0755, the database and its sidecars 0644, and
    the app still running (a connection open, so the -wal and -shm files are there)."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    var_dir.chmod(0o755)
    database = var_dir / "nasovcf.sqlite3"
    old_connection = sqlite3.connect(database)
    try:
        old_connection.execute("PRAGMA journal_mode=WAL")
        old_connection.execute("CREATE TABLE kept (value TEXT)")
        old_connection.execute("INSERT INTO kept VALUES ('patient data')")
        old_connection.commit()
        sidecars = [var_dir / "nasovcf.sqlite3-wal", var_dir / "nasovcf.sqlite3-shm"]
        for file in (database, *sidecars):
            file.chmod(0o644)

        env = app_environment(var_dir)
        run_app(env, "manage.py", "migrate", "--noinput", "-v0")

        assert mode(var_dir) == 0o700
        for file in (database, *sidecars):
            assert mode(file) == 0o600, f"{file.name} is {mode(file):o}"
        assert old_connection.execute("SELECT value FROM kept").fetchone() == ("patient data",)
    finally:
        old_connection.close()


def test_static_files_are_collected_outside_var(tmp_path):
    found = probe(app_environment(tmp_path / "var"), PATHS)
    static_root, var_dir = Path(found["static_root"]), Path(found["var_dir"])
    assert static_root == ROOT / "staticfiles"
    assert var_dir not in static_root.parents
    elsewhere = tmp_path / "collected"
    assert probe(app_environment(tmp_path / "var", DJANGO_STATIC_ROOT=str(elsewhere)), PATHS)["static_root"] == str(
        elsewhere
    )


def test_only_the_extra_bits_are_taken_off_and_only_from_our_own_files(tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    folder.chmod(0o711)
    private_directory(folder)
    assert mode(folder) == 0o700

    read_only = tmp_path / "read-only.sqlite3"
    read_only.touch()
    read_only.chmod(0o444)
    private_sqlite_database(read_only)
    assert mode(read_only) == 0o400  # never widened

    someone_elses = tmp_path / "shared"
    someone_elses.mkdir()
    someone_elses.chmod(0o755)
    monkeypatch.setattr(os, "geteuid", lambda: someone_elses.stat().st_uid + 1)
    tighten(someone_elses, 0o700)
    assert mode(someone_elses) == 0o755


def test_an_in_memory_database_makes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (":memory:", "file:memorydb_default?mode=memory&cache=shared", ""):
        private_sqlite_database(name)
    assert list(tmp_path.iterdir()) == []
