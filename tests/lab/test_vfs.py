"""The per-server virtual filesystem."""

from __future__ import annotations

import pytest

from mdstools.lab.vfs import Mount, VfsError, VirtualFS, normalize


@pytest.fixture
def fs() -> VirtualFS:
    v = VirtualFS()
    v.mounts = [Mount("/", 10_000, 1_000), Mount("/var/log", 5_000, 0)]
    for d in ("/etc", "/tmp", "/var/log", "/home/admin"):
        v.mkdir(d)
    return v


def test_normalize() -> None:
    assert normalize("a/../b/./c", "/home/admin") == "/home/admin/b/c"
    assert normalize("/x//y/") == "/x/y"
    assert normalize("..", "/") == "/"


def test_mkdir_creates_parents_and_is_idempotent(fs: VirtualFS) -> None:
    fs.mkdir("/opt/a/b")
    assert fs.is_dir("/opt") and fs.is_dir("/opt/a/b")
    fs.mkdir("/opt/a/b")
    assert fs.listdir("/opt/a") == ["b"]


def test_mkdir_without_parents_and_over_a_file(fs: VirtualFS) -> None:
    with pytest.raises(VfsError, match="No such file or directory"):
        fs.mkdir("/none/x", parents=False)
    fs.write("/etc/f", "x")
    with pytest.raises(VfsError, match="File exists"):
        fs.mkdir("/etc/f")
    with pytest.raises(VfsError, match="Not a directory"):
        fs.mkdir("/etc/f/sub")


def test_write_read_and_append(fs: VirtualFS) -> None:
    fs.write("/tmp/f", "one\n")
    fs.write("/tmp/f", b"two\n", append=True)
    assert fs.read("/tmp/f") == b"one\ntwo\n"
    assert fs.read_text("/tmp/f") == "one\ntwo\n"
    fs.write("/tmp/f", "new")
    assert fs.read_text("/tmp/f") == "new"
    assert fs.is_file("/tmp/f") and fs.exists("/tmp/f") and not fs.is_dir("/tmp/f")


def test_write_errors(fs: VirtualFS) -> None:
    with pytest.raises(VfsError, match=r"^/nodir/f: No such file or directory$"):
        fs.write("/nodir/f", "x")
    with pytest.raises(VfsError, match=r"^/tmp: Is a directory$"):
        fs.write("/tmp", "x")
    with pytest.raises(VfsError, match="No such file or directory"):
        fs.read("/tmp/missing")
    with pytest.raises(VfsError, match="Is a directory"):
        fs.read("/tmp")


def test_listdir(fs: VirtualFS) -> None:
    fs.write("/etc/b", "")
    fs.write("/etc/a", "")
    fs.mkdir("/etc/sub/deep")
    assert fs.listdir("/etc") == ["a", "b", "sub"]
    assert fs.listdir("/etc/a") == ["a"]
    with pytest.raises(VfsError, match="No such file or directory"):
        fs.listdir("/nope")


def test_walk_lists_a_tree(fs: VirtualFS) -> None:
    fs.mkdir("/var/log/t/d")
    fs.write("/var/log/t/d/f", "x")
    walked = fs.walk("/var/log/t")
    assert [p for p, _ in walked] == ["/var/log/t", "/var/log/t/d", "/var/log/t/d/f"]
    assert [f is None for _, f in walked] == [True, True, False]


def test_glob(fs: VirtualFS) -> None:
    fs.mkdir("/opt/CPmds-R81.10/scripts")
    fs.mkdir("/opt/CPshrd-R81.10")
    fs.write("/opt/CPmds-R81.10/scripts/MDSprofile.sh", "")
    fs.write("/opt/.hidden", "")
    assert fs.glob("/opt/CPmds-R*") == ["/opt/CPmds-R81.10"]
    assert fs.glob("/opt/CP*") == ["/opt/CPmds-R81.10", "/opt/CPshrd-R81.10"]
    assert fs.glob("/opt/*/scripts/*.sh") == ["/opt/CPmds-R81.10/scripts/MDSprofile.sh"]
    assert fs.glob("/opt/*") == ["/opt/CPmds-R81.10", "/opt/CPshrd-R81.10"]
    assert fs.glob("/opt/.h*") == ["/opt/.hidden"]
    assert fs.glob("/opt/*.none") == []
    assert fs.glob("/opt/CP?hrd-R8[0-9].10") == ["/opt/CPshrd-R81.10"]
    assert fs.glob("/opt/*/") == ["/opt/CPmds-R81.10/", "/opt/CPshrd-R81.10/"]


def test_glob_relative_keeps_the_spelling(fs: VirtualFS) -> None:
    fs.write("/home/admin/a.log", "")
    fs.write("/home/admin/b.log", "")
    assert fs.glob("*.log", "/home/admin") == ["a.log", "b.log"]
    assert fs.glob("../admin/a.*", "/home/admin") == ["../admin/a.log"]
    assert fs.glob("[*].log", "/home/admin") == []


def test_remove(fs: VirtualFS) -> None:
    fs.mkdir("/tmp/d/e")
    fs.write("/tmp/d/e/f", "x")
    fs.write("/tmp/file", "x")
    fs.remove("/tmp/file")
    assert not fs.exists("/tmp/file")
    with pytest.raises(VfsError, match="Is a directory"):
        fs.remove("/tmp/d")
    fs.remove("/tmp/d", recursive=True)
    assert not fs.exists("/tmp/d") and not fs.exists("/tmp/d/e/f")
    assert fs.is_dir("/tmp")
    with pytest.raises(VfsError, match="No such file or directory"):
        fs.remove("/tmp/d")


def test_rename_files(fs: VirtualFS) -> None:
    fs.write("/tmp/a", "A", handler="prog")
    fs.rename("/tmp/a", "/tmp/b")
    assert not fs.exists("/tmp/a")
    f = fs.get("/tmp/b")
    assert f is not None and f.handler == "prog" and fs.read_text("/tmp/b") == "A"
    fs.rename("/tmp/b", "/etc")
    assert fs.read_text("/etc/b") == "A"
    with pytest.raises(VfsError, match="cannot stat"):
        fs.rename("/tmp/none", "/tmp/x")
    with pytest.raises(VfsError, match="No such file or directory"):
        fs.rename("/etc/b", "/nodir/b")


def test_rename_directories(fs: VirtualFS) -> None:
    fs.mkdir("/tmp/src/sub")
    fs.write("/tmp/src/sub/f", "x")
    fs.rename("/tmp/src", "/tmp/dst")
    assert fs.read_text("/tmp/dst/sub/f") == "x" and not fs.exists("/tmp/src")
    fs.mkdir("/var/log/into")
    fs.rename("/tmp/dst", "/var/log/into")
    assert fs.is_file("/var/log/into/dst/sub/f")
    with pytest.raises(VfsError, match="subdirectory of itself"):
        fs.rename("/var/log/into", "/var/log/into/dst/sub")


def test_clear_tree_keeps_the_directory(fs: VirtualFS) -> None:
    fs.mkdir("/tmp/x/y")
    fs.write("/tmp/x/y/f", "x")
    fs.write("/var/log/keep", "x")
    fs.clear_tree("/tmp")
    assert fs.is_dir("/tmp") and fs.listdir("/tmp") == []
    assert fs.is_file("/var/log/keep")


def test_install_places_a_program(fs: VirtualFS) -> None:
    fs.install("/opt/CPmds-R81.10/bin/mdsstat", "mdsstat")
    f = fs.get("/opt/CPmds-R81.10/bin/mdsstat")
    assert f is not None and f.handler == "mdsstat"


def test_copy_keeps_claimed_size_and_handler(fs: VirtualFS) -> None:
    fs.write("/var/log/big", b"head", size=1_000_000, handler="x")
    fs.copy("/var/log/big", "/tmp/big")
    f = fs.get("/tmp/big")
    assert f is not None and (f.size, f.handler, bytes(f.content)) == (1_000_000, "x", b"head")


def test_touch_and_mtime(fs: VirtualFS) -> None:
    fs.touch("/tmp/t", 1234.0)
    assert fs.read("/tmp/t") == b"" and fs.mtime("/tmp/t") == 1234.0
    fs.touch("/tmp", 99.0)
    assert fs.mtime("/tmp") == 99.0
    assert fs.mtime("/nope") is None


def test_size_override(fs: VirtualFS) -> None:
    fs.write("/var/log/pkg", b"stub", size=4_000_000)
    f = fs.get("/var/log/pkg")
    assert f is not None and f.size == 4_000_000 and len(f.content) == 4
    fs.write("/var/log/pkg", b"more", append=True)
    assert f.size == 4_000_004
    fs.write("/var/log/pkg", b"x", append=True, size=1_000)
    assert f.size == 4_001_004
    fs.write("/var/log/plain", b"abc")
    fs.write("/var/log/plain", b"d", append=True, size=100)
    plain = fs.get("/var/log/plain")
    assert plain is not None and plain.size == 103


def test_mount_for_picks_the_longest_prefix(fs: VirtualFS) -> None:
    log = fs.mount_for("/var/log/x/y")
    root = fs.mount_for("/var/logs")
    assert log is not None and log.path == "/var/log"
    assert root is not None and root.path == "/"


def test_free_space_counts_claimed_sizes_per_mount(fs: VirtualFS) -> None:
    assert fs.free_kb("/var/log") == 5_000
    root_free = fs.free_kb("/etc")
    fs.write("/var/log/blob", b"x", size=1_024 * 1_024)
    assert fs.free_kb("/var/log/anything") == 5_000 - 1_024
    assert fs.free_kb("/etc") == root_free
    fs.remove("/var/log/blob")
    assert fs.free_kb("/var/log") == 5_000


def test_no_space_left_on_device(fs: VirtualFS) -> None:
    fs.write("/var/log/a", b"x", size=4_000 * 1_024)
    with pytest.raises(VfsError, match=r"^write error: /var/log/b: No space left on device$"):
        fs.write("/var/log/b", b"x", size=2_000 * 1_024)
    assert not fs.exists("/var/log/b")
    with pytest.raises(VfsError, match="No space left on device"):
        fs.write("/var/log/a", b"x", append=True, size=1_001 * 1_024)
    a = fs.get("/var/log/a")
    assert a is not None and a.size == 4_000 * 1_024
    fs.write("/var/log/a", b"x", size=4_900 * 1_024)  # replacing frees the old size first
    assert fs.free_kb("/var/log") == 100


def test_without_mounts_space_is_unlimited() -> None:
    v = VirtualFS()
    v.mkdir("/tmp")
    v.write("/tmp/huge", b"x", size=10**15)
    assert v.free_kb("/tmp") is None
