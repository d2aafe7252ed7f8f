"""Private files and folders: what holds a secret or caller data is never open to other users.

Principle: the mode is given when a file or folder is created (``os.open`` with
0600, ``mkdir`` then ``chmod`` 0700), so there is no moment in which another
user can open it; the process umask (``siaga`` sets 027) is only a second line
of defence, since tests and library users never go through the CLI. A file or
folder that already exists keeps its owner and group bits (an operator may
have given a group read access on purpose) and loses its world bits. Shared
folders with the sticky bit (``/tmp``) are never changed.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_WORLD = stat.S_IRWXO


def private_dir(path: str | os.PathLike) -> Path:
    """``path`` and its missing parents, created 0700; an existing ``path`` loses its world bits."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for folder in missing:  # mkdir's mode went through the umask
        os.chmod(folder, DIR_MODE)
    if not missing:
        _drop_world(path)
    return path


def open_private(path: str | os.PathLike, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """A file descriptor on ``path``, created 0600; an existing file loses its world bits."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode) and mode & _WORLD:
            os.fchmod(fd, stat.S_IMODE(mode) & ~_WORLD)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_private(path: str | os.PathLike, **kwargs):
    """``open(path, "ab")`` or ``"a"`` (with ``encoding=``) on a private file."""
    mode = "a" if "encoding" in kwargs else "ab"
    return os.fdopen(open_private(path), mode, **kwargs)


def write_private(path: str | os.PathLike, data: bytes | str, *, fsync: bool = False) -> None:
    """Replace ``path`` atomically with ``data`` in a new 0600 file; nothing is left half written.

    A failure (a full disk) removes the temporary file and raises; the old
    ``path``, if any, is untouched. ``fsync`` also syncs the file and its folder.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    body = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            os.fchmod(fd, FILE_MODE)  # a stale temporary file kept its old mode
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def kept_secret(path: str | os.PathLike) -> bytes:
    """A random key generated once into ``path`` (0600), the same for every process that asks."""
    import fcntl
    import secrets

    path = Path(path)
    private_dir(path.parent)
    fd = open_private(path, os.O_RDWR)
    with os.fdopen(fd, "r+", encoding="ascii") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # two processes starting at once must not each write a key
        key = file.read().strip()
        if not key:
            key = secrets.token_urlsafe(48)
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        return key.encode("ascii")


def internal_secret(settings) -> bytes:
    """The secret of the internal channel between the web app and the call service (``internal.*``)."""
    if settings.internal.secret is not None:
        return settings.internal.secret.get_secret_value().encode("utf-8")
    return _kept_once(str(settings.internal.secret_file))


@functools.lru_cache(maxsize=4)
def _kept_once(path: str) -> bytes:
    """The kept key, read once per process (the web app asks at every agent command)."""
    return kept_secret(path)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or creation in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_world(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & _WORLD and not mode & stat.S_ISVTX:
        os.chmod(path, stat.S_IMODE(mode) & ~_WORLD)
