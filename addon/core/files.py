"""Files that appear only whole: every write goes through a temporary file in the same
folder and an atomic rename, so a crash or a full disk never leaves half a file where an
editor (or the next run) would read it."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def atomic_write(path: Path, write, mode: int | None = None) -> Path:
    """Write through a temporary file in the same folder: ``path`` appears only complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if mode is None:   # mkstemp makes the file private; ordinary files follow the umask
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> Path:
    return atomic_write(path, lambda out: out.write(data), mode)


def atomic_copy(src: Path, dst: Path) -> Path:
    with open(src, "rb") as source:
        return atomic_write(dst, lambda out: shutil.copyfileobj(source, out, 1 << 20))


def atomic_write_json(path: Path, data, mode: int | None = None) -> Path:
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    return atomic_write_bytes(path, text.encode("utf-8"), mode)
