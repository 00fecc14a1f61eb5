"""The programs in the lab's /bin: the options scripts use and GNU's messages."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable

import pytest

from mdstools.lab import coreutils, system
from mdstools.lab.model import Deployment
from mdstools.lab.shell import PROGRAMS
from tests.lab.conftest import Ran, run_on

Bash = Callable[..., Ran]
LINES = "b 2\na 10\nc 1\na 10\n"


@pytest.fixture
def sh(lab: Deployment) -> Bash:
    """Runs an exec on mds1 without the profile, after writing /tmp/d and /tmp/l."""
    vfs = lab.server("mds1").vfs
    vfs.write("/tmp/d", LINES)
    vfs.write("/tmp/l", "x\ny\nz\n")

    def _run(command: str, stdin: str = "", server: str = "mds1") -> Ran:
        return run_on(lab, server, command, stdin=stdin, profile=False)

    return _run


def test_every_core_program_is_implemented_and_documented() -> None:
    for name in system.CORE_PROGRAMS:
        assert name in PROGRAMS, name
        assert PROGRAMS[name].__doc__, name


def test_unknown_option_is_refused_like_gnu(sh: Bash) -> None:
    r = sh("cat -z /tmp/l")
    assert (r.rc, r.out) == (1, "")
    assert r.err == "cat: invalid option -- 'z'\nTry 'cat --help' for more information.\n"
    r = sh("ls --frobnicate")
    assert (r.rc, r.err.splitlines()[0]) == (2, "ls: unrecognized option '--frobnicate'")


# -- files ---------------------------------------------------------------------------


def test_cat_files_stdin_and_errors(sh: Bash) -> None:
    assert sh("cat /tmp/l /tmp/l").out == "x\ny\nz\n" * 2
    assert sh("cat", stdin="piped\n").out == "piped\n"
    assert sh("echo mid | cat /tmp/l - /tmp/l").out == "x\ny\nz\nmid\nx\ny\nz\n"
    r = sh("cat /x")
    assert (r.rc, r.err) == (1, "cat: /x: No such file or directory\n")
    r = sh("cat /etc /tmp/l")
    assert (r.rc, r.out, r.err) == (1, "x\ny\nz\n", "cat: /etc: Is a directory\n")
    assert sh("cat /etc/cp-release/x").err == "cat: /etc/cp-release/x: Not a directory\n"
    assert sh("cat -n /tmp/l").out == "     1\tx\n     2\ty\n     3\tz\n"


def test_ls_plain_all_and_directory(sh: Bash) -> None:
    assert sh("ls /opt").out == "CPmds-R81.10\nCPshrd-R81.10\n"
    sh("touch /tmp/.hidden")
    assert ".hidden" not in sh("ls /tmp").out
    assert sh("ls -a /tmp").out.split("\n")[:3] == [".", "..", ".hidden"]
    assert sh("ls -d /opt /etc/cp-release").out == "/etc/cp-release\n/opt\n"
    assert sh("ls -1 /etc/cp-release").out == "/etc/cp-release\n"


def test_ls_several_directories_have_headers(sh: Bash) -> None:
    r = sh("mkdir -p /tmp/a /tmp/b; touch /tmp/a/1 /tmp/b/2; ls /tmp/a /tmp/b")
    assert r.out == "/tmp/a:\n1\n\n/tmp/b:\n2\n"


def test_ls_long_shows_sizes_and_modes(lab: Deployment, sh: Bash) -> None:
    vfs = lab.server("mds1").vfs
    vfs.mkdir("/var/log/bk")
    vfs.write("/var/log/bk/backup.tgz", b"x", size=2_000_000_000)
    vfs.write("/var/log/bk/run.sh", "echo\n")
    vfs.mkdir("/var/log/bk/sub")
    r = sh("ls -l /var/log/bk")
    lines = r.out.splitlines()
    assert lines[0] == f"total {(2_000_000_000 + 4095) // 4096 * 4 + 8}"
    cols = [ln.split() for ln in lines[1:]]
    assert [c[0] for c in cols] == ["-rw-r--r--", "-rwxr-xr-x", "drwxr-xr-x"]
    assert [c[4] for c in cols] == ["2000000000", "5", "4096"]
    assert [c[-1] for c in cols] == ["backup.tgz", "run.sh", "sub"]
    assert all(c[2:4] == ["admin", "root"] for c in cols)
    assert re.search(r" [A-Z][a-z]{2} [ \d]\d \d\d:\d\d backup\.tgz$", lines[1]), lines[1]
    human = sh("ls -lh /var/log/bk/backup.tgz").out.split()
    assert human[4] == "1.9G"


def test_ls_missing(sh: Bash) -> None:
    r = sh("ls /nope /opt")
    assert r.rc == 2
    assert r.err == "ls: cannot access '/nope': No such file or directory\n"
    assert r.out == "/opt:\nCPmds-R81.10\nCPshrd-R81.10\n"


def test_mkdir(sh: Bash) -> None:
    r = sh("mkdir /tmp/x/y")
    assert (r.rc, r.err) == (
        1,
        "mkdir: cannot create directory '/tmp/x/y': No such file or directory\n",
    )
    assert sh("mkdir -p /tmp/x/y && mkdir -p /tmp/x/y && ls /tmp/x").out == "y\n"
    r = sh("mkdir /tmp/x")
    assert (r.rc, r.err) == (1, "mkdir: cannot create directory '/tmp/x': File exists\n")
    assert sh("mkdir").err.startswith("mkdir: missing operand\n")


def test_rm(sh: Bash) -> None:
    r = sh("rm /tmp/nope")
    assert (r.rc, r.err) == (1, "rm: cannot remove '/tmp/nope': No such file or directory\n")
    assert sh("rm -f /tmp/nope").rc == 0
    sh("mkdir -p /tmp/t/u; touch /tmp/t/u/f")
    r = sh("rm /tmp/t")
    assert (r.rc, r.err) == (1, "rm: cannot remove '/tmp/t': Is a directory\n")
    assert sh("rm -rf /tmp/t && ls /tmp/t").rc == 2
    assert sh("rm /tmp/l; cat /tmp/l").rc == 1
    r = sh("rm -rf /")
    assert r.rc == 1 and "dangerous to operate recursively on '/'" in r.err


def test_mv_files_and_directories(sh: Bash) -> None:
    assert sh("mv /tmp/l /tmp/m && cat /tmp/m && ls /tmp/l").out == "x\ny\nz\n"
    sh("mkdir -p /tmp/dir/sub; touch /tmp/dir/sub/f; mkdir /tmp/into")
    assert sh("mv /tmp/dir /tmp/moved && ls /tmp/moved/sub").out == "f\n"
    assert sh("mv /tmp/m /tmp/d /tmp/into && ls /tmp/into").out == "d\nm\n"
    r = sh("mv /nope /tmp/x")
    assert (r.rc, r.err) == (1, "mv: cannot stat '/nope': No such file or directory\n")
    r = sh("mv /tmp/moved /tmp/into/a /tmp/notdir")
    assert (r.rc, r.err) == (1, "mv: target '/tmp/notdir' is not a directory\n")
    assert sh("mv /tmp/moved").err.startswith(
        "mv: missing destination file operand after '/tmp/moved'\n"
    )


def test_cp_files_trees_and_claimed_sizes(lab: Deployment, sh: Bash) -> None:
    vfs = lab.server("mds1").vfs
    vfs.write("/var/log/big", b"header", size=3_000_000)
    assert sh("cp /var/log/big /var/log/big2 && stat -c %s /var/log/big2").out == "3000000\n"
    sh("mkdir -p /tmp/src/sub; echo f > /tmp/src/sub/f")
    r = sh("cp /tmp/src /tmp/dst")
    assert (r.rc, r.err) == (1, "cp: -r not specified; omitting directory '/tmp/src'\n")
    assert sh("cp -r /tmp/src /tmp/dst && cat /tmp/dst/sub/f").out == "f\n"
    assert sh("cp -r /tmp/src /tmp/dst && ls /tmp/dst").out == "src\nsub\n"
    r = sh("cp /tmp/l /tmp/l")
    assert (r.rc, r.err) == (1, "cp: '/tmp/l' and '/tmp/l' are the same file\n")
    assert sh("cp /nope /tmp").err == "cp: cannot stat '/nope': No such file or directory\n"


def test_cp_out_of_space(lab: Deployment, sh: Bash) -> None:
    vfs = lab.server("mds1").vfs
    free = vfs.free_kb("/")
    assert free is not None
    vfs.write("/var/log/huge", b"x", size=(free + 10) * 1024)
    r = sh("cp /var/log/huge /root/huge")
    assert (r.rc, r.err) == (1, "cp: error writing '/root/huge': No space left on device\n")


def test_touch(lab: Deployment, sh: Bash) -> None:
    assert sh("touch /tmp/new && cat /tmp/new && echo ok").out == "ok\n"
    assert sh("touch -d @1000 /tmp/new && stat -c %Y /tmp/new").out == "1000\n"
    assert sh("touch -c /tmp/absent; ls /tmp/absent").rc == 2
    r = sh("touch /nodir/f")
    assert (r.rc, r.err) == (1, "touch: cannot touch '/nodir/f': No such file or directory\n")


def test_stat(sh: Bash) -> None:
    assert sh("stat -c %s /tmp/l").out == "6\n"
    assert sh("stat -c '%n %F %a %U' /tmp/l /tmp").out == (
        "/tmp/l regular file 644 admin\n/tmp directory 755 admin\n"
    )
    now = time.time()
    assert abs(int(sh("stat -c %Y /tmp/l").out) - now) < 60
    full = sh("stat /tmp/l").out
    assert full.startswith("  File: '/tmp/l'\n  Size: 6 ") and "regular file" in full
    r = sh("stat /nope")
    assert (r.rc, r.err) == (1, "stat: cannot stat '/nope': No such file or directory\n")


def test_df_posix_layout(lab: Deployment, sh: Bash) -> None:
    r = sh("df -P")
    lines = r.out.splitlines()
    assert lines[0].split() == [
        "Filesystem",
        "1024-blocks",
        "Used",
        "Available",
        "Capacity",
        "Mounted",
        "on",
    ]
    rows = {ln.split()[5]: ln.split() for ln in lines[1:]}
    assert rows["/"][0] == "/dev/mapper/vg_splat-lv_current"
    assert rows["/var/log"][0] == "/dev/mapper/vg_splat-lv_log"
    total, used, avail = (int(x) for x in rows["/var/log"][1:4])
    assert total == 200 * 1024 * 1024 and used + avail == total
    assert rows["/var/log"][4] == f"{-(-used * 100 // total)}%"
    capacity_end = lines[0].index("Capacity") + len("Capacity")
    assert all(ln[capacity_end - 1] == "%" for ln in lines[1:])


def test_df_of_a_path_shows_its_mount_and_tracks_usage(lab: Deployment, sh: Bash) -> None:
    before = sh("df -P /var/log/upload").out.splitlines()
    assert len(before) == 2 and before[1].endswith(" /var/log")
    lab.server("mds1").vfs.write("/var/log/blob", b"x", size=1024 * 1024 * 1024)
    after = sh("df -Pk /var/log").out.splitlines()[1].split()
    assert int(after[2]) - int(before[1].split()[2]) == 1024 * 1024
    assert sh("df -P /root").out.splitlines()[1].split()[5] == "/"
    r = sh("df -P /var/log/nope")
    assert (r.rc, r.out, r.err) == (1, "", "df: /var/log/nope: No such file or directory\n")


def test_df_human(sh: Bash) -> None:
    lines = sh("df -h").out.splitlines()
    assert lines[0].split()[:5] == ["Filesystem", "Size", "Used", "Avail", "Use%"]
    assert lines[1].split()[1] == "20G" and lines[2].split()[1] == "200G"


def test_du(lab: Deployment, sh: Bash) -> None:
    vfs = lab.server("mds1").vfs
    vfs.mkdir("/var/log/dd/sub")
    vfs.write("/var/log/dd/a", b"x" * 5000)
    vfs.write("/var/log/dd/sub/b", b"x", size=10 * 1024 * 1024)
    assert sh("du -sk /var/log/dd").out == f"{8 + 10240 + 4 + 4}\t/var/log/dd\n"
    assert sh("du /var/log/dd").out == "10244\t/var/log/dd/sub\n10256\t/var/log/dd\n"
    assert sh("du -sh /var/log/dd").out == "11M\t/var/log/dd\n"
    assert sh("cd /var/log && du -s dd").out == "10256\tdd\n"
    r = sh("du -s /nope")
    assert (r.rc, r.err) == (1, "du: cannot access '/nope': No such file or directory\n")


def test_checksums(sh: Bash) -> None:
    data = b"x\ny\nz\n"
    assert sh("sha256sum /tmp/l").out == f"{hashlib.sha256(data).hexdigest()}  /tmp/l\n"
    assert sh("md5sum /tmp/l").out == f"{hashlib.md5(data).hexdigest()}  /tmp/l\n"
    assert sh("printf abc | sha256sum").out == f"{hashlib.sha256(b'abc').hexdigest()}  -\n"
    r = sh("sha256sum /nope")
    assert (r.rc, r.err) == (1, "sha256sum: /nope: No such file or directory\n")


def test_checksum_check_mode(sh: Bash) -> None:
    sh("sha256sum /tmp/l /tmp/d > /tmp/sums")
    assert sh("sha256sum -c /tmp/sums").out == "/tmp/l: OK\n/tmp/d: OK\n"
    sh("echo changed > /tmp/d")
    r = sh("sha256sum -c /tmp/sums")
    assert (r.rc, r.out) == (1, "/tmp/l: OK\n/tmp/d: FAILED\n")
    assert r.err == "sha256sum: WARNING: 1 computed checksum did NOT match\n"


def test_tee(sh: Bash) -> None:
    assert sh("echo one | tee /tmp/t1 /tmp/t2").out == "one\n"
    assert sh("echo two | tee -a /tmp/t1 >/dev/null; cat /tmp/t1 /tmp/t2").out == (
        "one\ntwo\none\n"
    )
    r = sh("echo x | tee /nodir/f")
    assert (r.rc, r.out, r.err) == (1, "x\n", "tee: /nodir/f: No such file or directory\n")


def test_tar_create_and_list(lab: Deployment, sh: Bash) -> None:
    vfs = lab.server("mds1").vfs
    vfs.mkdir("/var/log/exp/d")
    vfs.write("/var/log/exp/d/big", b"x", size=50_000_000)
    r = sh("tar -czf /var/log/exp.tgz /var/log/exp")
    assert (r.rc, r.err) == (0, "tar: Removing leading `/' from member names\n")
    assert (
        sh("tar -tzf /var/log/exp.tgz").out == "var/log/exp/\nvar/log/exp/d/\nvar/log/exp/d/big\n"
    )
    assert int(sh("stat -c %s /var/log/exp.tgz").out) > 50_000_000
    assert sh("cd /var/log && tar cf rel.tar exp/d && tar tf rel.tar").out == (
        "exp/d/\nexp/d/big\n"
    )
    assert sh("tar -C /var/log -cvf /tmp/c.tar exp/d").out == "exp/d/\nexp/d/big\n"


def test_tar_errors(sh: Bash) -> None:
    r = sh("tar -czf /tmp/x.tgz /nope")
    assert r.rc == 2 and "tar: /nope: Cannot stat: No such file or directory" in r.err
    r = sh("tar -tf /tmp/l")
    assert (r.rc, r.err) == (
        2,
        "tar: This does not look like a tar archive\n"
        "tar: Exiting with failure status due to previous errors\n",
    )
    assert "not simulated" in sh("tar -xzf /tmp/x.tgz").err


# -- text --------------------------------------------------------------------------------


def test_grep_options(sh: Bash) -> None:
    assert sh("grep a /tmp/d").out == "a 10\na 10\n"
    assert sh("grep -v a /tmp/d").out == "b 2\nc 1\n"
    assert sh("grep -c a /tmp/d").out == "2\n"
    assert sh("grep -n '^c' /tmp/d").out == "3:c 1\n"
    assert sh("grep -i A /tmp/d | head -1").out == "a 10\n"
    assert sh("grep -E '^(b|c) ' /tmp/d").out == "b 2\nc 1\n"
    assert sh("egrep '1+0' /tmp/d").out == "a 10\na 10\n"
    assert sh("grep -w 1 /tmp/d").out == "c 1\n"
    assert sh("grep -o '[0-9]\\+' /tmp/d").out == "2\n10\n1\n10\n"
    assert sh("grep -q b /tmp/d && echo found").out == "found\n"
    assert sh("grep -x 'c 1' /tmp/d").out == "c 1\n"
    assert sh("grep -F '1+' /tmp/d; echo $?").out == "1\n"
    assert sh("grep -e x -e z /tmp/l").out == "x\nz\n"


def test_grep_posix_classes_and_bre(sh: Bash) -> None:
    assert sh("grep -c '^[[:alpha:]][[:space:]][[:digit:]]\\{2\\}$' /tmp/d").out == "2\n"
    assert sh("echo 'a(b)' | grep '(b)'").out == "a(b)\n"
    assert sh("echo 'down pnd' | grep -E 'down|init'").out == "down pnd\n"


def test_grep_several_files_and_exit_codes(sh: Bash) -> None:
    assert sh("grep y /tmp/l /tmp/d").out == "/tmp/l:y\n"
    assert sh("grep -l a /tmp/l /tmp/d").out == "/tmp/d\n"
    assert sh("grep -h y /tmp/l /tmp/d").out == "y\n"
    r = sh("grep nomatch /tmp/l")
    assert (r.rc, r.out) == (1, "")
    r = sh("grep y /nope /tmp/l")
    assert (r.rc, r.out, r.err) == (2, "/tmp/l:y\n", "grep: /nope: No such file or directory\n")
    assert sh("grep -s y /nope").err == ""
    r = sh("grep '\\(' /tmp/l")
    assert r.rc == 2 and r.err.startswith("grep: ")
    r = sh("grep")
    assert r.rc == 2 and r.err.startswith("Usage: grep [OPTION]... PATTERNS [FILE]...")


def test_grep_recursive(sh: Bash) -> None:
    sh("mkdir -p /tmp/r/s; echo hit > /tmp/r/s/f; echo miss > /tmp/r/g")
    assert sh("grep -r hit /tmp/r").out == "/tmp/r/s/f:hit\n"


def test_head_and_tail(sh: Bash) -> None:
    assert sh("head -n 2 /tmp/l").out == "x\ny\n"
    assert sh("head -1 /tmp/l").out == "x\n"
    assert sh("head -n -1 /tmp/l").out == "x\ny\n"
    assert sh("head -c 3 /tmp/l").out == "x\ny"
    assert sh("tail -n 1 /tmp/l").out == "z\n"
    assert sh("tail -2 /tmp/l").out == "y\nz\n"
    assert sh("tail -n +2 /tmp/l").out == "y\nz\n"
    assert sh("seq 20 | tail -n 3").out == "18\n19\n20\n"
    assert sh("head -n 1 /tmp/l /tmp/d").out == "==> /tmp/l <==\nx\n\n==> /tmp/d <==\nb 2\n"
    r = sh("head -n x /tmp/l")
    assert (r.rc, r.err) == (1, "head: invalid number of lines: 'x'\n")
    assert sh("tail -f /tmp/l").rc == 1


def test_wc(sh: Bash) -> None:
    assert sh("wc -l /tmp/l").out == "3 /tmp/l\n"
    assert sh("wc -l < /tmp/l").out == "3\n"
    assert sh("wc /tmp/l").out == "3 3 6 /tmp/l\n"
    assert sh("echo hello world | wc").out == "      1       2      12\n"
    assert sh("wc -w -l /tmp/d").out == " 4  8 /tmp/d\n"
    assert sh("wc -c /tmp/l /tmp/d").out == " 6 /tmp/l\n18 /tmp/d\n24 total\n"


def test_wc_counts_claimed_bytes(lab: Deployment, sh: Bash) -> None:
    lab.server("mds1").vfs.write("/var/log/pkg.tgz", b"x", size=4_200_000_000)
    assert sh("wc -c /var/log/pkg.tgz").out == "4200000000 /var/log/pkg.tgz\n"


def test_sort(sh: Bash) -> None:
    assert sh("sort /tmp/d").out == "a 10\na 10\nb 2\nc 1\n"
    assert sh("sort -r /tmp/d").out == "c 1\nb 2\na 10\na 10\n"
    assert sh("sort -u /tmp/d").out == "a 10\nb 2\nc 1\n"
    assert sh("sort -n -k2 /tmp/d").out == "c 1\nb 2\na 10\na 10\n"
    assert sh("sort -rn -k 2 /tmp/d | head -1").out == "a 10\n"
    assert sh("printf '3\\n20\\n100\\n' | sort -n").out == "3\n20\n100\n"
    assert sh("printf 'b:1\\na:2\\n' | sort -t: -k2 -r").out == "a:2\nb:1\n"


def test_uniq(sh: Bash) -> None:
    assert sh("printf 'a\\na\\nb\\na\\n' | uniq").out == "a\nb\na\n"
    assert sh("printf 'a\\na\\nb\\n' | uniq -c").out == "      2 a\n      1 b\n"
    assert sh("printf 'a\\na\\nb\\n' | uniq -d").out == "a\n"
    assert sh("printf 'a\\na\\nb\\n' | uniq -u").out == "b\n"


def test_cut(sh: Bash) -> None:
    assert sh("echo 'a:b:c:d' | cut -d: -f2").out == "b\n"
    assert sh("echo 'a:b:c:d' | cut -d: -f1,3").out == "a:c\n"
    assert sh("echo 'a:b:c:d' | cut -d: -f2-").out == "b:c:d\n"
    assert sh("echo 'abcdef' | cut -c2-4").out == "bcd\n"
    assert sh("printf 'a\\tb\\nnodelim\\n' | cut -f2").out == "b\nnodelim\n"
    assert sh("printf 'a\\tb\\nnodelim\\n' | cut -s -f2").out == "b\n"
    r = sh("cut /tmp/l")
    assert (r.rc, r.err.splitlines()[0]) == (
        1,
        "cut: you must specify a list of bytes, characters, or fields",
    )
    assert sh("cut -d: -f0 /tmp/l").err.startswith("cut: fields are numbered from 1")


def test_tr(sh: Bash) -> None:
    assert sh("echo Hello | tr a-z A-Z").out == "HELLO\n"
    assert sh("echo Hello | tr '[:upper:]' '[:lower:]'").out == "hello\n"
    assert sh("echo 'a-b-c' | tr - ' '").out == "a b c\n"
    assert sh("echo hello | tr -d l").out == "heo\n"
    assert sh("echo 'a   b' | tr -s ' '").out == "a b\n"
    assert sh("printf 'a\\nb\\n' | tr '\\n' ,").out == "a,b,"
    assert sh("echo abc123 | tr -cd '0-9'").out == "123"
    assert sh("tr").err.startswith("tr: missing operand\n")


def test_awk_supported_programs(sh: Bash) -> None:
    assert sh("awk '{print $2}' /tmp/d").out == "2\n10\n1\n10\n"
    assert sh("awk '{print $2, $1}' /tmp/d | head -1").out == "2 b\n"
    assert sh("echo 'a:b:c' | awk -F: '{print $3}'").out == "c\n"
    assert sh("awk 'NR==2' /tmp/d").out == "a 10\n"
    assert sh("awk 'NR==3 {print $1}' /tmp/d").out == "c\n"
    assert sh("awk '/^a/ {print $2}' /tmp/d").out == "10\n10\n"
    assert sh("awk 'END{print NR}' /tmp/d").out == "4\n"
    assert sh("awk '{s += $2} END {print s}' /tmp/d").out == "23\n"
    assert sh("awk '$2 > 5 {print $1}' /tmp/d").out == "a\na\n"
    assert sh("awk '{print $NF}' /tmp/d | head -1").out == "2\n"
    assert sh("awk '!/a/' /tmp/d").out == "b 2\nc 1\n"
    assert sh("awk -v p=X '{printf \"%s-%d\\n\", p, $2}' /tmp/d | head -1").out == "X-2\n"
    assert sh("df -P /var/log | awk 'NR==2 {print $6}'").out == "/var/log\n"


def test_awk_refuses_what_it_does_not_implement(sh: Bash) -> None:
    r = sh("awk '{for (i=1;i<=NF;i++) print $i}' /tmp/d")
    assert (r.rc, r.out) == (2, "")
    assert r.err.startswith("awk: the lab's awk does not support this program")
    assert sh("awk '{ gsub(/a/, \"b\"); print }' /tmp/d").rc == 2


def test_sed(sh: Bash) -> None:
    assert sh("sed 's/a/A/' /tmp/d").out == "b 2\nA 10\nc 1\nA 10\n"
    assert sh("echo aaa | sed 's/a/b/g'").out == "bbb\n"
    assert sh("echo aaa | sed 's/a/b/2'").out == "aba\n"
    assert sh("sed -n '2p' /tmp/d").out == "a 10\n"
    assert sh("sed -e 's/b/B/' -e 's/c/C/' /tmp/d").out == "B 2\na 10\nC 1\na 10\n"
    assert sh("echo 'key=val' | sed 's/\\(.*\\)=\\(.*\\)/\\2=\\1/'").out == "val=key\n"
    assert sh("echo 'a.b' | sed -E 's|(a)\\.(b)|[&] \\2|'").out == "[a.b] b\n"
    assert sh("sed '/^a/d' /tmp/d").out == "b 2\nc 1\n"
    assert sh("sed -n '/c/p' /tmp/d").out == "c 1\n"
    assert sh("sed '1q' /tmp/d").out == "b 2\n"
    assert sh("sed -i 's/x/X/' /tmp/l && cat /tmp/l").out == "X\ny\nz\n"


def test_sed_errors(sh: Bash) -> None:
    r = sh("echo x | sed 'k'")
    assert (r.rc, r.err) == (1, "sed: -e expression #1, char 1: unknown command: `k'\n")
    r = sh("echo x | sed 's/a'")
    assert (r.rc, r.err) == (1, "sed: -e expression #1, char 3: unterminated `s' command\n")
    assert "does not support" in sh("echo x | sed 'y/x/y/'").err


# -- processes and the system -----------------------------------------------------------


def test_sleep(sh: Bash) -> None:
    start = time.monotonic()
    assert sh("sleep 0.1").rc == 0
    assert time.monotonic() - start >= 0.1
    r = sh("sleep x")
    assert (r.rc, r.err) == (
        1,
        "sleep: invalid time interval 'x'\nTry 'sleep --help' for more information.\n",
    )
    assert sh("sleep").err.startswith("sleep: missing operand\n")


def test_timeout(sh: Bash) -> None:
    start = time.monotonic()
    assert sh("timeout 0.1 sleep 5; echo $?").out == "124\n"
    assert time.monotonic() - start < 2
    assert sh("timeout 5 bash -c 'exit 3'; echo $?").out == "3\n"
    assert sh("timeout -s KILL 0.05 sleep 5; echo $?").out == "137\n"
    r = sh("timeout 1 nosuch")
    assert (r.rc, r.err) == (
        127,
        "timeout: failed to run command 'nosuch': No such file or directory\n",
    )


def test_nohup_on_an_exec_channel_keeps_output_in_place(sh: Bash) -> None:
    r = sh("nohup echo hi; ls nohup.out")
    assert r.out == "hi\n"
    assert r.err == "ls: cannot access 'nohup.out': No such file or directory\n"
    r = sh("nohup nosuch")
    assert (r.rc, r.err) == (
        127,
        "nohup: failed to run command 'nosuch': No such file or directory\n",
    )


def test_nohup_on_a_terminal_appends_to_nohup_out(lab: Deployment) -> None:
    from mdstools.lab.shell import IO, BufferSink, Shell, TextSource

    server = lab.server("mds1")
    term = BufferSink()
    shell = Shell(lab, server, "admin", interactive=True)
    shell.run("cd /var/log; nohup echo hi", IO(TextSource(""), term, term, tty=True))
    assert term.getvalue() == "nohup: ignoring input and appending output to 'nohup.out'\n"
    assert server.vfs.read_text("/var/log/nohup.out") == "hi\n"


def test_bash_and_sh(sh: Bash) -> None:
    assert sh("bash -c 'echo $0 $1' name arg").out == "name arg\n"
    assert sh("sh -c 'exit 4'; echo $?").out == "4\n"
    assert sh("echo 'echo from stdin' | bash").out == "from stdin\n"
    assert sh("bash -x -c 'echo traced'").out == "traced\n"
    r = sh("sh -c nosuch")
    assert (r.rc, r.err) == (127, "sh: nosuch: command not found\n")
    r = sh("bash /tmp/nope.sh")
    assert (r.rc, r.err) == (127, "bash: /tmp/nope.sh: No such file or directory\n")
    assert sh("bash -c").rc == 2


def test_env(sh: Bash) -> None:
    out = sh("env").out.splitlines()
    assert "HOME=/home/admin" in out and "USER=admin" in out
    assert sh("env -i A=1 B=2 env").out == "A=1\nB=2\n"
    assert sh("env FOO=bar bash -c 'echo $FOO'; echo [$FOO]").out == "bar\n[]\n"
    assert "HOME=" not in sh("env -u HOME env").out
    r = sh("env nosuch")
    assert (r.rc, r.err) == (127, "env: 'nosuch': No such file or directory\n")


def test_date(lab: Deployment, sh: Bash) -> None:
    out = sh("date").out
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n", out)
    assert abs(int(sh("date +%s").out) - lab.clock.wall()) < 5
    assert sh("date -u -d @0").out == "Thu Jan  1 00:00:00 UTC 1970\n"
    assert sh("date -d @86400 +%Y-%m-%d_%H%M%S").out == "1970-01-02_000000\n"
    assert sh("date -d '2026-11-26 14:22:04' +%s").out == "1795702924\n"
    r = sh("date -d garbage")
    assert (r.rc, r.err) == (1, "date: invalid date 'garbage'\n")


def test_identity_commands(lab: Deployment, sh: Bash) -> None:
    assert sh("hostname").out == "mds1\n"
    assert sh("hostname", server="mds2").out == "mds2\n"
    assert sh("hostname -i").out == lab.server("mds1").ip + "\n"
    assert sh("whoami").out == "admin\n"
    assert sh("id").out == "uid=0(admin) gid=0(root) groups=0(root)\n"
    assert sh("id -u; id -un").out == "0\nadmin\n"


def test_uname(lab: Deployment, sh: Bash) -> None:
    kernel = lab.server("mds1").version.kernel
    assert sh("uname").out == "Linux\n"
    assert sh("uname -r").out == kernel + "\n"
    assert sh("uname -n -s").out == "Linux mds1\n"
    assert sh("uname -a").out.startswith(f"Linux mds1 {kernel} #1 SMP ")


def test_uptime(lab: Deployment, sh: Bash) -> None:
    line = sh("uptime").out
    assert re.fullmatch(
        r" \d\d:\d\d:\d\d up 237 days, 21:1\d,  1 user,  load average: 0\.87, 0\.69, 0\.58\n",
        line,
    )
    server = lab.server("mds1")
    lab.reboot(server)
    end = time.monotonic() + 5
    while not server.online and time.monotonic() < end:
        time.sleep(0.02)
    assert re.fullmatch(r" \S+ up 0 min,  1 user,  load average: .*\n", sh("uptime").out)


def test_basename_and_dirname(sh: Bash) -> None:
    assert sh("basename /var/log/x.tgz; basename /var/log/x.tgz .tgz; basename /a/b/").out == (
        "x.tgz\nx\nb\n"
    )
    assert sh("basename -a /a/x /b/y").out == "x\ny\n"
    assert sh("dirname /var/log/x.tgz; dirname x; dirname /x; dirname /a/b/").out == (
        "/var/log\n.\n/\n/a\n"
    )


def test_xargs(sh: Bash) -> None:
    assert sh("echo a b c | xargs").out == "a b c\n"
    assert sh("echo a b c | xargs -n 1 echo X").out == "X a\nX b\nX c\n"
    assert sh("printf '/tmp/l\\n' | xargs cat").out == "x\ny\nz\n"
    assert sh("printf 'l\\nd\\n' | xargs -I{} echo /tmp/{}.bak").out == ("/tmp/l.bak\n/tmp/d.bak\n")
    assert sh("echo x | xargs false; echo $?").out == "123\n"
    assert sh("echo x | xargs nosuch; echo $?").out == "127\n"


def test_seq(sh: Bash) -> None:
    assert sh("seq 3").out == "1\n2\n3\n"
    assert sh("seq 2 4").out == "2\n3\n4\n"
    assert sh("seq 1 2 7").out == "1\n3\n5\n7\n"
    assert sh("seq 3 -1 1").out == "3\n2\n1\n"
    assert sh("seq -s, 3").out == "1,2,3\n"
    assert sh("seq -w 9 10").out == "09\n10\n"
    assert sh("seq 0.5 0.5 1.5").out == "0.5\n1.0\n1.5\n"
    r = sh("seq x")
    assert (r.rc, r.err.splitlines()[0]) == (1, "seq: invalid floating point argument: 'x'")


def test_human_sizes() -> None:
    assert [coreutils.human(n) for n in (0, 1023, 1024, 1536, 10 * 1024, 10239 * 1024)] == [
        "0",
        "1023",
        "1.0K",
        "1.5K",
        "10K",
        "10M",
    ]


def test_posix_regex_translation() -> None:
    assert coreutils.posix_regex(r"a\(b\)\{2\}+", extended=False) == r"a(b){2}\+"
    assert coreutils.posix_regex("[[:space:]]x|y", extended=True) == r"[\s]x|y"
    assert coreutils.posix_regex(r"\<word\>", extended=True) == r"\bword\b"


def test_base64_round_trip_wrap_and_bad_input(sh: Bash) -> None:
    text = "héllo\n" * 20
    enc = sh("base64", stdin=text)
    assert enc.rc == 0 and max(len(x) for x in enc.out.splitlines()) == 76
    assert sh("base64 -d", stdin=enc.out).out == text
    assert sh("base64 -w0", stdin=text).out.count("\n") == 1
    assert sh("base64 -d > /tmp/dec && cat /tmp/dec", stdin=enc.out).out == text
    bad = sh("base64 -d", stdin="@@not base64@@")
    assert (bad.rc, bad.err) == (1, "base64: invalid input\n")


def test_mktemp_makes_private_unique_names(sh: Bash) -> None:
    a = sh("mktemp -d /tmp/mdstools.XXXXXXXX")
    b = sh("mktemp -d /tmp/mdstools.XXXXXXXX")
    assert a.rc == b.rc == 0 and a.out != b.out
    assert re.fullmatch(r"/tmp/mdstools\.[A-Za-z0-9]{8}\n", a.out)
    assert sh(f"test -d {a.out.strip()} && echo dir").out == "dir\n"
    f = sh("mktemp")
    assert f.out.startswith("/tmp/tmp.") and sh(f"test -f {f.out.strip()} && echo f").out == "f\n"
    few = sh("mktemp /tmp/aXX")
    assert few.rc == 1 and "too few X's" in few.err
