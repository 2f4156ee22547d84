"""A checked guideline set cached on disk, so a process need not re-read and re-check YAML.

The cache holds what :func:`kb_core._loader.load_guidelines` returned for files that also
passed the graph checks. It is keyed by a sha256 over everything that result depends on:
each guideline file's plugin, shown path and bytes, every plugin's version (kb_core's among
them), the Python version and kb_core's own source files and schemas (by name, size and
modification time: what Python itself trusts to reuse their byte code). Any change gives a
new key, so a stale entry is never used; an entry that cannot be read (corrupt, truncated,
from an incompatible build) is ignored and rewritten. Only files owned by this user, in a
directory no one else may write, are read (a pickle must come from a trusted place).

Location: ``$MTUS_KB_CACHE_DIR``, else the user cache directory (``$XDG_CACHE_HOME`` or
``~/.cache`` on Unix, ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS) under
``mtus-kb``; ``MTUS_KB_CACHE_DIR=off`` turns the cache off. Never inside the package.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kb_core._loader import GuidelineSet

CACHE_ENV = "MTUS_KB_CACHE_DIR"
_FORMAT = b"mtus-kb guideline cache 2"
_CORE = os.path.dirname(os.path.abspath(__file__))  # kb_core's directory, wherever it is installed


def cache_dir() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mtus-kb"


def cache_key(contents: Iterable[tuple[str, str, bytes]], plugin_versions: Mapping[str, str]) -> str:
    """sha256 over ``(plugin, shown path, bytes)`` of each guideline file, every plugin's
    name and version (kb_core's among them), the Python version and kb_core's source."""
    h = hashlib.sha256(_FORMAT)
    h.update(f"\0{sys.version}\0".encode())
    for name, version in sorted(plugin_versions.items()):
        h.update(f"plugin\0{name}\0{version}\0".encode())
    # All of kb_core's source and schemas: whatever module a change to the loader touches,
    # an edited source tree never meets a stale entry. Their size and modification time
    # (ns) are what Python checks before it reuses a module's byte code, so a change that
    # slipped past them would leave the code itself stale too; reading and hashing their
    # 350 kB took longer than the rest of the key.
    for folder, suffix in ((_CORE, ".py"), (os.path.join(_CORE, "schemas"), ".json")):
        with os.scandir(folder) as entries:
            stats = sorted((entry.name, entry.stat()) for entry in entries if entry.name.endswith(suffix))
        for name, info in stats:
            h.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for plugin, path, data in contents:
        h.update(f"{plugin}\0{path}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def trusted(path: Path) -> bool:
    """Ours and writable by no one else (where the platform tells)."""
    if not hasattr(os, "getuid"):
        return True
    for item in (path, path.parent):
        info = item.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return False
    return True


def read(key: str) -> GuidelineSet | None:
    """The cached guideline set for ``key``, or None (absent, off, untrusted, unreadable)."""
    where = cache_dir()
    if where is None:
        return None
    path = where / f"guidelines-{key}.pickle"
    try:
        if not trusted(path):
            return None
        with path.open("rb") as handle:
            stored_key, guidelines = pickle.load(handle)  # noqa: S301 - our own file, checked above
    except Exception:  # absent, corrupt, truncated, from another build: rebuild instead
        return None
    if stored_key != key or not isinstance(guidelines, GuidelineSet):
        return None
    return guidelines


def write(key: str, guidelines: GuidelineSet) -> None:
    """Store ``guidelines`` under ``key``; a cache that cannot be written is skipped."""
    where = cache_dir()
    if where is None:
        return
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((key, guidelines))
    except Exception:  # unpicklable plugin data: just no cache
        return
    write_atomically(where / f"guidelines-{key}.pickle", buffer.getvalue(), keep="guidelines-*.pickle")


_KEEP = 8  # entries kept of each kind: several environments (venvs, plugin sets) may share the directory


def write_atomically(path: Path, data: bytes, keep: str) -> None:
    """Write ``path`` whole or not at all, then drop all but the newest entries matching
    ``keep``, so edits do not pile up; a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import tempfile  # only when writing, once per change

        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        entries = sorted(path.parent.glob(keep), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[_KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:  # read-only home, full disk: just no cache
        return


def read_only(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuilds a pickled read-only mapping (``mappingproxy`` has no importable name)."""
    return MappingProxyType(items)


def _mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return read_only, (dict(proxy),)


class _Pickler(pickle.Pickler):
    """Pickles the read-only mappings of the model without registering anything globally."""

    dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _mapping_proxy}
