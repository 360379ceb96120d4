"""The audit key and the audit checkpoint, both kept outside the database.

The key signs every audit entry (HMAC-SHA256), so an entry edited, inserted or re-chained in the
database without the key does not verify. It comes from ``IVIG_AUDIT_KEY`` (the key itself),
else from the file named by ``IVIG_AUDIT_KEY_FILE``, else from ``audit.key`` in the registry's
data directory (created once, mode 0600, in a 0700 directory). Keep the file out of database
backups and give the database administrator no read access to it.

The checkpoint file (``IVIG_AUDIT_CHECKPOINT_FILE``, default ``audit-checkpoints.json`` beside
the key) records, per database, the sequence number and hash of the last entry verified; the
next verification starts there and reports a chain that no longer reaches it (truncation).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from ivig.errors import InputError

__all__ = [
    "AUDIT_CHECKPOINT_FILE_ENV",
    "AUDIT_KEY_ENV",
    "AUDIT_KEY_FILE_ENV",
    "audit_key",
    "data_dir",
    "private_file",
    "read_checkpoint",
    "write_checkpoint",
]

AUDIT_KEY_ENV = "IVIG_AUDIT_KEY"
AUDIT_KEY_FILE_ENV = "IVIG_AUDIT_KEY_FILE"
AUDIT_CHECKPOINT_FILE_ENV = "IVIG_AUDIT_CHECKPOINT_FILE"
_MIN_KEY_CHARS = 32
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def data_dir() -> Path:
    """``${XDG_DATA_HOME:-~/.local/share}/ivig``, created with mode 0700 when missing."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(base) / "ivig"
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    return folder


def private_file(path: Path, content: str | None = None) -> None:
    """Create ``path`` with mode 0600 (and ``content``) if it does not exist yet."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if path.exists():
        return
    # written in full under a temporary name, then linked into place: a second process
    # starting at the same moment finds either no file or the whole one, never an empty one
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if content is not None:
                handle.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _key_path() -> Path:
    named = os.environ.get(AUDIT_KEY_FILE_ENV)
    return Path(named).expanduser() if named else data_dir() / "audit.key"


def audit_key() -> bytes:
    """The key that signs the audit chain (see the module text for where it comes from)."""
    direct = os.environ.get(AUDIT_KEY_ENV)
    if direct:
        if len(direct) < _MIN_KEY_CHARS:
            raise InputError(AUDIT_KEY_ENV, "(hidden)", f"a key of at least {_MIN_KEY_CHARS} chars")
        return direct.encode("utf-8")
    path = _key_path()
    with _lock:
        cached = _cache.get(str(path))
        if cached is not None:
            return cached
        private_file(path, secrets.token_hex(32) + "\n")
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < _MIN_KEY_CHARS:
            raise InputError(
                AUDIT_KEY_FILE_ENV, str(path), f"a file holding at least {_MIN_KEY_CHARS} chars"
            )
        _cache[str(path)] = key.encode("utf-8")
        return _cache[str(path)]


def _checkpoint_path() -> Path:
    named = os.environ.get(AUDIT_CHECKPOINT_FILE_ENV)
    return Path(named).expanduser() if named else _key_path().with_name("audit-checkpoints.json")


def _read_all(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return raw if isinstance(raw, dict) else {}


def read_checkpoint(database: str) -> tuple[int, str] | None:
    """The (seq, hash) last verified for ``database`` (a URL without password), if any."""
    found = _read_all(_checkpoint_path()).get(database)
    if not isinstance(found, dict):
        return None
    seq, head = found.get("seq"), found.get("hash")
    return (seq, head) if isinstance(seq, int) and isinstance(head, str) else None


def write_checkpoint(database: str, seq: int, head: str) -> None:
    """Record that ``database`` verified up to entry ``seq`` with hash ``head``."""
    path = _checkpoint_path()
    with _lock:
        everything = _read_all(path)
        everything[database] = {"seq": seq, "hash": head}
        private_file(path)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        private_file(tmp)
        tmp.write_text(json.dumps(everything, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
