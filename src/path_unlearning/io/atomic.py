"""Atomic writes: build a file or folder beside its target, then rename it into place.

A killed run therefore leaves either the previous state or the complete new one,
never a truncated file that a later run would load as the latest version. The
temporary name starts with a dot, names the writing process (``w<pid>@<host>``)
and ends in ``.partial``, so a clean-up can tell a dead writer's leftovers from
a save in flight (``writer_alive``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
_WRITER = re.compile(r"\.w(\d+)@([A-Za-z0-9-]+)\.")


def host_name() -> str:
    """This machine's short host name, reduced to letters, digits and dashes."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"


def process_alive(pid: int, host: str) -> bool:
    """Whether process ``pid`` on ``host`` may still run (another host: cannot tell, so yes)."""
    if host != host_name():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def writer_alive(partial: Path) -> bool | None:
    """Whether the process writing a ``.partial`` file or folder is alive; None if unnamed."""
    found = _WRITER.search(partial.name)
    return None if found is None else process_alive(int(found[1]), found[2])


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (a folder, or a lock file created on demand).

    Used for the run index (two runs ending together) and for training-cache
    entries (two runs storing one key). Without ``fcntl`` (not POSIX) it only
    yields: the renames alone still keep every file whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:
        yield
        return
    fd = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(
    target: str | Path, write: Callable[[Path], None], *, folder: bool = False
) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``target``, then rename it to ``target``.

    Args:
        target: Final path of the file or folder.
        write: Writes the content to the path it is given (a file path, or an
            existing empty folder when ``folder`` is true).
        folder: Whether the content is a folder.

    Raises:
        FileExistsError: ``folder`` is true and ``target`` already exists (a
            folder is never replaced: versions and cache entries are immutable).
    """
    target = Path(target)
    tmp = _temporary(target, folder)
    try:
        write(tmp)
        # mkstemp/mkdtemp create 0600/0700; give the result the modes the umask asks for.
        tmp.chmod((0o777 if folder else 0o666) & ~_umask())
        if folder and target.exists():
            raise FileExistsError(f"{target} already exists")
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _temporary(target: Path, folder: bool) -> Path:
    """An empty temporary file or folder beside ``target``, named after this process."""
    prefix = f".{target.name}.w{os.getpid()}@{host_name()}."

    def make() -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            return Path(tempfile.mkdtemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent)
        os.close(fd)
        return Path(name)

    try:
        return make()
    except FileNotFoundError:
        # Another run's clean-up removed the (then empty) parent folder between
        # the mkdir and the temporary's creation: make both again, once.
        return make()


def unreadable(path: Path, err: BaseException) -> str:
    """One line for a saved version that cannot be read, with what to do about it."""
    reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
    version = path.parent.name
    return (
        f"{path} (version {version}) is unreadable ({type(err).__name__}: {reason}); "
        f"delete the folder {path.parent} to fall back to the previous version, "
        "or pin one with --load-versions"
    )
