"""A per-server virtual filesystem.

Files survive reconnects and reboots, except under ``/tmp``. A file may carry a
``handler``: the name of a simulated program, so that ``PATH`` lookup and ``$MDSDIR/...``
paths find Check Point commands the way a real Gaia box does. A file may also claim a
larger ``size`` than its content (a 2 GB backup archive is not kept in memory).
"""

from __future__ import annotations

import fnmatch
import posixpath
import threading
import time
from dataclasses import dataclass, field


class VfsError(Exception):
    """A file operation failed; ``str()`` is the text a shell would print."""


@dataclass
class VFile:
    content: bytearray = field(default_factory=bytearray)
    handler: str | None = None
    size_override: int | None = None
    mtime: float = field(default_factory=time.time)

    @property
    def size(self) -> int:
        return self.size_override if self.size_override is not None else len(self.content)


@dataclass
class Mount:
    path: str
    total_kb: int
    used_kb: int


def normalize(path: str, cwd: str = "/") -> str:
    """Absolute, normalized form of ``path`` relative to ``cwd``."""
    if not path.startswith("/"):
        path = posixpath.join(cwd, path)
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm != "/" else "/"


class VirtualFS:
    """Files and directories of one simulated server; thread-safe."""

    def __init__(self) -> None:
        self._files: dict[str, VFile] = {}
        self._dirs: set[str] = {"/"}
        self._lock = threading.RLock()
        self.mounts: list[Mount] = []

    # -- directories -------------------------------------------------------------
    def mkdir(self, path: str, parents: bool = True) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                raise VfsError(f"mkdir: cannot create directory '{path}': File exists")
            parent = posixpath.dirname(path)
            if parent not in self._dirs:
                if not parents:
                    raise VfsError(
                        f"mkdir: cannot create directory '{path}': No such file or directory"
                    )
                self.mkdir(parent, parents=True)
            self._dirs.add(path)

    def is_dir(self, path: str) -> bool:
        return normalize(path) in self._dirs

    def is_file(self, path: str) -> bool:
        return normalize(path) in self._files

    def exists(self, path: str) -> bool:
        path = normalize(path)
        return path in self._files or path in self._dirs

    def listdir(self, path: str) -> list[str]:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                return [posixpath.basename(path)]
            if path not in self._dirs:
                raise VfsError(f"ls: cannot access '{path}': No such file or directory")
            prefix = path.rstrip("/") + "/"
            names = {
                p[len(prefix):].split("/", 1)[0]
                for p in list(self._files) + list(self._dirs)
                if p.startswith(prefix) and p != path
            }
            return sorted(names)

    # -- files -------------------------------------------------------------------
    def get(self, path: str) -> VFile | None:
        return self._files.get(normalize(path))

    def read(self, path: str) -> bytes:
        path = normalize(path)
        with self._lock:
            f = self._files.get(path)
            if f is None:
                if path in self._dirs:
                    raise VfsError(f"{path}: Is a directory")
                raise VfsError(f"{path}: No such file or directory")
            return bytes(f.content)

    def read_text(self, path: str) -> str:
        return self.read(path).decode("utf-8", errors="replace")

    def write(
        self,
        path: str,
        data: bytes | str,
        append: bool = False,
        handler: str | None = None,
        size: int | None = None,
    ) -> None:
        path = normalize(path)
        raw = data.encode() if isinstance(data, str) else data
        with self._lock:
            if path in self._dirs:
                raise VfsError(f"{path}: Is a directory")
            parent = posixpath.dirname(path)
            if parent not in self._dirs:
                raise VfsError(f"{path}: No such file or directory")
            f = self._files.get(path)
            if f is None or not append:
                f = VFile(handler=handler)
                self._files[path] = f
            extra = size if size is not None else len(raw)
            self._check_space(path, extra)
            f.content.extend(raw)
            if size is not None:
                f.size_override = (f.size_override or 0) + size if append else size
            f.mtime = time.time()

    def install(self, path: str, handler: str, text: str = "") -> None:
        """Place a simulated program at ``path`` (creating its directory)."""
        path = normalize(path)
        with self._lock:
            self.mkdir(posixpath.dirname(path))
            self._files[path] = VFile(bytearray(text.encode()), handler=handler)

    def remove(self, path: str, recursive: bool = False) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                del self._files[path]
                return
            if path in self._dirs:
                if not recursive:
                    raise VfsError(f"rm: cannot remove '{path}': Is a directory")
                prefix = path.rstrip("/") + "/"
                for p in [p for p in self._files if p.startswith(prefix)]:
                    del self._files[p]
                self._dirs -= {d for d in self._dirs if d.startswith(prefix) or d == path}
                self._dirs.add("/")
                return
            raise VfsError(f"rm: cannot remove '{path}': No such file or directory")

    def rename(self, src: str, dst: str) -> None:
        src, dst = normalize(src), normalize(dst)
        with self._lock:
            f = self._files.pop(src, None)
            if f is None:
                raise VfsError(f"mv: cannot stat '{src}': No such file or directory")
            if dst in self._dirs:
                dst = posixpath.join(dst, posixpath.basename(src))
            self._files[dst] = f

    def clear_tree(self, path: str) -> None:
        """Empty a directory tree but keep the directory itself (``/tmp`` on reboot)."""
        path = normalize(path)
        with self._lock:
            prefix = path.rstrip("/") + "/"
            for p in [p for p in self._files if p.startswith(prefix)]:
                del self._files[p]
            self._dirs -= {d for d in self._dirs if d.startswith(prefix)}

    def glob(self, pattern: str, cwd: str = "/") -> list[str]:
        """Paths matching a shell pattern, sorted; relative patterns stay relative."""
        absolute = pattern.startswith("/")
        full = normalize(pattern, cwd)
        with self._lock:
            candidates = list(self._files) + list(self._dirs)
        depth = full.count("/")
        hits = sorted(p for p in candidates if p.count("/") == depth and fnmatch.fnmatchcase(p, full))
        if absolute:
            return hits
        base = normalize(cwd).rstrip("/") + "/"
        return [p[len(base):] if p.startswith(base) else p for p in hits]

    # -- disk space --------------------------------------------------------------
    def mount_for(self, path: str) -> Mount | None:
        path = normalize(path)
        best: Mount | None = None
        for m in self.mounts:
            if (path == m.path or path.startswith(m.path.rstrip("/") + "/")) and (
                best is None or len(m.path) > len(best.path)
            ):
                best = m
        return best

    def used_bytes_under(self, mount: Mount) -> int:
        prefix = mount.path.rstrip("/") + "/"
        inner = [m.path for m in self.mounts if m is not mount and m.path.startswith(prefix)]
        total = 0
        for p, f in self._files.items():
            if (p.startswith(prefix) or mount.path == "/") and not any(
                p.startswith(i.rstrip("/") + "/") for i in inner
            ):
                total += f.size
        return total

    def free_kb(self, path: str) -> int | None:
        m = self.mount_for(path)
        if m is None:
            return None
        return max(0, m.total_kb - m.used_kb - self.used_bytes_under(m) // 1024)

    def _check_space(self, path: str, nbytes: int) -> None:
        free = self.free_kb(path)
        if free is not None and nbytes // 1024 > free:
            raise VfsError(f"write error: {path}: No space left on device")
