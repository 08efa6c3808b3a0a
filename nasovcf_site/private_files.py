"""The data directory and the SQLite database: readable by the app's own user only.

var/ holds the database, its backups and the keys, so it is 0700. The SQLite file is made 0600
here, before SQLite first opens it: SQLite gives the files it makes beside a database (-wal, -shm,
-journal) the database file's own permission bits (os_unix.c, findCreateFileMode), so they are
0600 from their first byte too. This needs no umask change (a process-wide setting that would
also close the collected static files to the web server) and no work on every connection.
"""

import os
import stat
from pathlib import Path

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Make the directory 0700 if missing; take the group's and others' bits off it if it is ours."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIRECTORY_MODE)


def private_sqlite_database(name: str | Path) -> None:
    """Make the database file 0600 before SQLite does; tighten an existing one and its sidecars.
    An in-memory database (":memory:", a "file:" URI) has no file to protect."""
    if str(name) in ("", ":memory:") or str(name).startswith("file:"):
        return
    path = Path(name)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass  # made before, or by another worker starting at the same moment
    except FileNotFoundError:
        return  # no such directory: SQLite says so itself when it opens the database
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDECAR_SUFFIXES)):
        tighten(file, PRIVATE_FILE_MODE)


def tighten(path: Path, mode: int) -> None:
    """Remove the permission bits beyond `mode` from a file or directory of ours; another user's is
    left as its owner set it."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    if found.st_uid != os.geteuid():
        return
    current = stat.S_IMODE(found.st_mode)
    if current & ~mode:
        path.chmod(current & mode)
