"""A per-server virtual filesystem.

Files survive reconnects and reboots, except under ``/tmp``. A file may carry a
``handler``: the name of a simulated program, so that ``PATH`` lookup and ``$MDSDIR/...``
paths find Check Point commands the way a real Gaia box does. A file may also claim a
larger ``size`` than its content (a 2 GB backup archive is not kept in memory); the space
it claims counts against the free space of its mount, and a write that does not fit fails
with ``No space left on device``.
"""

from __future__ import annotations

import fnmatch
import posixpath
import threading
import time
from dataclasses import dataclass, field, replace


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
    used_kb: int  # used by what the lab does not model as files


@dataclass
class VfsImage:
    """The files and directories of a tree, copied (see :meth:`VirtualFS.image`)."""

    files: dict[str, VFile]
    dirs: dict[str, float]


def normalize(path: str, cwd: str = "/") -> str:
    """Absolute, normalized form of ``path`` relative to ``cwd``."""
    if not path.startswith("/"):
        path = posixpath.join(cwd, path)
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm != "/" else "/"


def _under(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top + "/")


class VirtualFS:
    """Files and directories of one simulated server; thread-safe."""

    def __init__(self) -> None:
        self._files: dict[str, VFile] = {}
        self._dirs: dict[str, float] = {"/": time.time()}  # directory -> mtime
        self._lock = threading.RLock()
        self.mounts: list[Mount] = []

    # -- directories -------------------------------------------------------------
    def mkdir(self, path: str, parents: bool = True) -> None:
        """Create a directory (and, with ``parents``, its missing parents); idempotent."""
        path = normalize(path)
        with self._lock:
            if path in self._dirs:
                return
            if path in self._files:
                raise VfsError(f"mkdir: cannot create directory '{path}': File exists")
            parent = posixpath.dirname(path)
            if parent not in self._dirs:
                if not parents or parent in self._files:
                    raise VfsError(
                        f"mkdir: cannot create directory '{path}': "
                        + (
                            "Not a directory"
                            if parent in self._files
                            else "No such file or directory"
                        )
                    )
                self.mkdir(parent, parents=True)
            self._dirs[path] = time.time()

    def is_dir(self, path: str) -> bool:
        return normalize(path) in self._dirs

    def is_file(self, path: str) -> bool:
        return normalize(path) in self._files

    def exists(self, path: str) -> bool:
        path = normalize(path)
        return path in self._files or path in self._dirs

    def mtime(self, path: str) -> float | None:
        """Modification time of a file or directory, None if it does not exist."""
        path = normalize(path)
        f = self._files.get(path)
        return f.mtime if f is not None else self._dirs.get(path)

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory (a file lists as itself)."""
        path = normalize(path)
        with self._lock:
            if path in self._files:
                return [posixpath.basename(path)]
            if path not in self._dirs:
                raise VfsError(f"ls: cannot access '{path}': No such file or directory")
            prefix = path.rstrip("/") + "/"
            names = {
                p[len(prefix) :].split("/", 1)[0]
                for p in [*self._files, *self._dirs]
                if p.startswith(prefix) and p != path
            }
            return sorted(names)

    def walk(self, path: str) -> list[tuple[str, VFile | None]]:
        """Every path under ``path`` (itself included), sorted; directories carry None."""
        path = normalize(path)
        with self._lock:
            out: list[tuple[str, VFile | None]] = [
                (p, f) for p, f in self._files.items() if _under(p, path)
            ]
            out += [(d, None) for d in self._dirs if _under(d, path)]
        return sorted(out, key=lambda e: e[0])

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

    def create(self, path: str) -> None:
        """Create an empty file; fails if anything exists there (``O_CREAT | O_EXCL``)."""
        path = normalize(path)
        with self._lock:
            if path in self._files or path in self._dirs:
                raise VfsError(f"{path}: cannot overwrite existing file")
            self.write(path, b"")

    def write(
        self,
        path: str,
        data: bytes | str,
        append: bool = False,
        handler: str | None = None,
        size: int | None = None,
    ) -> None:
        """Write (or append) ``data``; ``size`` claims more bytes than ``data`` holds."""
        path = normalize(path)
        raw = data.encode() if isinstance(data, str) else data
        with self._lock:
            if path in self._dirs:
                raise VfsError(f"{path}: Is a directory")
            parent = posixpath.dirname(path)
            if parent not in self._dirs:
                reason = "Not a directory" if parent in self._files else "No such file or directory"
                raise VfsError(f"{path}: {reason}")
            old = self._files.get(path)
            added = size if size is not None else len(raw)
            freed = old.size if old is not None and not append else 0
            self._check_space(path, added - freed)
            if old is None or not append:
                f = VFile(handler=handler)
                self._files[path] = f
                f.content.extend(raw)
                f.size_override = size
            else:
                f = old
                before = f.size
                f.content.extend(raw)
                if size is not None or f.size_override is not None:
                    f.size_override = before + added
            f.mtime = time.time()
            self._dirs[parent] = f.mtime

    def install(self, path: str, handler: str, text: str = "") -> None:
        """Place a simulated program at ``path`` (creating its directory)."""
        path = normalize(path)
        with self._lock:
            self.mkdir(posixpath.dirname(path))
            self._files[path] = VFile(bytearray(text.encode()), handler=handler)

    def copy(self, src: str, dst: str) -> None:
        """Copy one file, keeping its claimed size and handler."""
        f = self.get(src)
        if f is None:
            raise VfsError(f"{normalize(src)}: No such file or directory")
        self.write(dst, bytes(f.content), handler=f.handler, size=f.size_override)

    def touch(self, path: str, when: float | None = None) -> None:
        """Set the modification time, creating an empty file if needed."""
        path = normalize(path)
        with self._lock:
            if path not in self._files and path not in self._dirs:
                self.write(path, b"")
            stamp = time.time() if when is None else when
            if path in self._files:
                self._files[path].mtime = stamp
            else:
                self._dirs[path] = stamp

    def remove(self, path: str, recursive: bool = False) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                del self._files[path]
                return
            if path in self._dirs:
                if not recursive:
                    raise VfsError(f"rm: cannot remove '{path}': Is a directory")
                for p in [p for p in self._files if _under(p, path)]:
                    del self._files[p]
                for d in [d for d in self._dirs if _under(d, path) and d != "/"]:
                    del self._dirs[d]
                return
            raise VfsError(f"rm: cannot remove '{path}': No such file or directory")

    def rename(self, src: str, dst: str) -> None:
        """``mv``: move a file or a directory tree; into ``dst`` if it is a directory."""
        src, dst = normalize(src), normalize(dst)
        with self._lock:
            if src not in self._files and src not in self._dirs:
                raise VfsError(f"mv: cannot stat '{src}': No such file or directory")
            if dst in self._dirs:
                dst = posixpath.join(dst, posixpath.basename(src))
            if dst == src:
                return
            parent = posixpath.dirname(dst)
            if parent not in self._dirs:
                raise VfsError(f"mv: cannot move '{src}' to '{dst}': No such file or directory")
            if src in self._files:
                if dst in self._dirs:
                    raise VfsError(f"mv: cannot overwrite directory '{dst}' with non-directory")
                self._files[dst] = self._files.pop(src)
                return
            if _under(dst, src):
                raise VfsError(f"mv: cannot move '{src}' to a subdirectory of itself, '{dst}'")
            if dst in self._files:
                raise VfsError(f"mv: cannot overwrite non-directory '{dst}' with directory")
            for p in [p for p in self._files if _under(p, src)]:
                self._files[dst + p[len(src) :]] = self._files.pop(p)
            for d in [d for d in self._dirs if _under(d, src)]:
                self._dirs[dst + d[len(src) :]] = self._dirs.pop(d)

    def clear_tree(self, path: str) -> None:
        """Empty a directory tree but keep the directory itself (``/tmp`` on reboot)."""
        path = normalize(path)
        with self._lock:
            for p in [p for p in self._files if _under(p, path)]:
                del self._files[p]
            for d in [d for d in self._dirs if _under(d, path) and d != path]:
                del self._dirs[d]

    # -- images (Gaia snapshots) ---------------------------------------------------
    def image(self, keep: str) -> VfsImage:
        """Copies of every file and directory outside ``keep``: a snapshot of the root volume."""
        keep = normalize(keep)
        with self._lock:
            files = {
                p: replace(f, content=bytearray(f.content))
                for p, f in self._files.items()
                if not _under(p, keep)
            }
            dirs = {d: t for d, t in self._dirs.items() if not _under(d, keep)}
        return VfsImage(files, dirs)

    def restore_image(self, image: VfsImage, keep: str) -> None:
        """Put back everything outside ``keep`` as in ``image``; what is under ``keep`` stays."""
        keep = normalize(keep)
        with self._lock:
            self._files = {p: f for p, f in self._files.items() if _under(p, keep)}
            self._dirs = {d: t for d, t in self._dirs.items() if _under(d, keep)}
            for p, f in image.files.items():
                self._files[p] = replace(f, content=bytearray(f.content))
            self._dirs.update(image.dirs)
            self._dirs.setdefault("/", time.time())
            for d in list(self._dirs):
                parent = posixpath.dirname(d)
                while parent not in self._dirs:
                    self._dirs[parent] = time.time()
                    parent = posixpath.dirname(parent)

    def glob(self, pattern: str, cwd: str = "/") -> list[str]:
        """Paths matching a shell pattern, sorted, spelled as the pattern spells them.

        ``*`` and ``?`` do not match a leading dot, as in bash; a pattern that matches
        nothing gives an empty list.
        """
        absolute = pattern.startswith("/")
        parts = [p for p in pattern.split("/") if p]
        found: list[tuple[str, str]] = [("/" if absolute else "", "/" if absolute else cwd)]
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            nxt: list[tuple[str, str]] = []
            for shown, real in found:
                if not any(c in part for c in "*?["):
                    full = normalize(part, real)
                    if self.exists(full) and (last or self.is_dir(full)):
                        nxt.append((posixpath.join(shown, part) if shown else part, full))
                    continue
                if not self.is_dir(real):
                    continue
                for name in self.listdir(real):
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    full = normalize(name, real)
                    if fnmatch.fnmatchcase(name, part) and (last or self.is_dir(full)):
                        nxt.append((posixpath.join(shown, name) if shown else name, full))
            found = nxt
        if pattern.endswith("/"):
            return sorted(s + "/" for s, r in found if self.is_dir(r))
        return sorted(s for s, _ in found) if parts else []

    # -- disk space --------------------------------------------------------------
    def mount_for(self, path: str) -> Mount | None:
        path = normalize(path)
        best: Mount | None = None
        for m in self.mounts:
            if _under(path, m.path) and (best is None or len(m.path) > len(best.path)):
                best = m
        return best

    def used_bytes_under(self, mount: Mount) -> int:
        """Bytes claimed by the files that live on ``mount`` (not on a mount inside it)."""
        with self._lock:
            return sum(f.size for p, f in self._files.items() if self.mount_for(p) is mount)

    def used_kb(self, mount: Mount) -> int:
        return mount.used_kb + (self.used_bytes_under(mount) + 1023) // 1024

    def free_kb(self, path: str) -> int | None:
        m = self.mount_for(path)
        if m is None:
            return None
        return max(0, m.total_kb - self.used_kb(m))

    def _check_space(self, path: str, nbytes: int) -> None:
        free = self.free_kb(path)
        if free is not None and nbytes > 0 and (nbytes + 1023) // 1024 > free:
            raise VfsError(f"write error: {path}: No space left on device")
