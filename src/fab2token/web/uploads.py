"""Files uploaded with a scenario in the dashboard's editor: the weather CSVs (``weather_csv``) and fab line results
(``fabline_result``) its fields name, by file name alone, never by a path on the server.

An upload is kept under the hash of its content in a folder of the dashboard's own (removed when it stops), so the
editor's page carries only ``HASH:NAME`` for each file from one validation to the next and to the launch, not the
file. At most :data:`MAX_KEPT_BYTES` are kept, the least recently used forgotten first; a page that names a
forgotten one is asked to upload it again. To validate or run, the files a scenario carries are copied under their
names into a folder of its own (:meth:`Uploads.materialise`), which its relative file names are read from.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from pathlib import Path

__all__ = ["Uploads", "MAX_FILES", "MAX_KEPT_BYTES", "NAME"]

MAX_FILES = 16  # files one scenario carries (a site has one weather file; 16 sites' own years is generous)
MAX_KEPT_BYTES = 64 * 2**20  # the uploads one dashboard keeps: sixteen full EPW-style years of ~4 MB
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a plain file name: no folder, no leading dot
_REF = re.compile(r"([0-9a-f]{32}):(.+)")


class Uploads:
    """The uploads of one dashboard, content-addressed."""

    def __init__(self, max_kept_bytes: int = MAX_KEPT_BYTES):
        self._dir = tempfile.TemporaryDirectory(prefix="fab2token-uploads-")
        self.root = Path(self._dir.name)
        self.max_kept_bytes = max_kept_bytes
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> str:
        """Keep ``data`` (a file named ``name``, checked by the caller); its reference ``HASH:NAME``."""
        key = hashlib.sha256(data).hexdigest()[:32]
        with self._lock:
            path = self.root / key
            if not path.exists():
                path.write_bytes(data)
            path.touch()  # most recently used
            self._forget_old(keep=path)
        return f"{key}:{name}"

    def get(self, ref: str) -> tuple[str, bytes] | None:
        """The name and content of a reference from a page; None when it is malformed or no longer kept."""
        m = _REF.fullmatch(ref)
        if m is None or NAME.fullmatch(m.group(2)) is None:
            return None
        with self._lock:
            path = self.root / m.group(1)
            if not path.is_file():
                return None
            path.touch()
            return m.group(2), path.read_bytes()

    def _forget_old(self, keep: Path) -> None:
        files = sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for p in files:
            if total <= self.max_kept_bytes:
                break
            if p != keep:
                total -= p.stat().st_size
                p.unlink()

    @staticmethod
    def materialise(files: dict[str, bytes], folder: Path) -> None:
        """Write ``files`` (name: content) into ``folder`` under their names."""
        for name, data in files.items():
            (folder / name).write_bytes(data)
