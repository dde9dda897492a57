"""Atomic writes: build a file or folder beside its target, then rename it into place.

A killed run therefore leaves either the previous state or the complete new one,
never a truncated file that a later run would load as the latest version. The
temporary name starts with a dot and ends in ``.partial`` so it is recognisable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


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
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}."
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
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


def unreadable(path: Path, err: BaseException) -> str:
    """One line for a saved version that cannot be read, with what to do about it."""
    reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
    version = path.parent.name
    return (
        f"{path} (version {version}) is unreadable ({type(err).__name__}: {reason}); "
        f"delete the folder {path.parent} to fall back to the previous version, "
        "or pin one with --load-versions"
    )
