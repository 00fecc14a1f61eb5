"""Gaia clish as the lab simulates it: ``show version all``, ``set clienv``, CPUSE ``installer``.

``run_line`` runs one clish command (from an interactive clish prompt, a clish login
shell's exec channel, or ``clish -c`` in bash). Unknown commands print
``CLINFR0329  Invalid command:'<cmd>'.`` and fail, as Gaia does.

CPUSE (``docs/formats.md#cpuse-installer``):

* ``installer import local <path>`` returns at once; the package is ``Importing`` for
  ``Timings.import_package`` and then ``Imported`` (a copy lands in :data:`REPOSITORY`).
  The type is ``Major Version`` for a ``Check_Point_<release>_T<build>_Fresh_install_and_
  Upgrade`` file, else ``Hotfix``.
* ``installer verify <id>`` blocks for ``Timings.verify_package`` and prints the verifier
  result; for a Major Version it writes the pre-upgrade report to
  :data:`VERIFY_REPORT` (``/var/log/CPUSE_pre_upgrade_verifier_<target>.txt``).
* ``installer upgrade <id>`` (Major Version) starts ``Deployment.start_upgrade`` and returns
  at once: ``show installer package <id>`` then reads ``Installing N%`` until the reboot,
  and ``Installed`` once the server is back on the new release.
* ``installer install <id>`` (Hotfix) installs for ``Timings.upgrade * HOTFIX_INSTALL_SHARE``
  (``Installing N%``), marks the package ``Installed`` (a Jumbo sets the server's Jumbo
  take) and reboots the server, unless the prompt was answered ``s`` (suppress reboot).
* ``<id>`` is the ``Num`` of ``show installer packages`` or the file/display name. The
  numbers are the same in every scope (the real box may number scopes differently: take
  the ID from ``show installer packages imported``). The Jumbo installed with the release
  is listed (``all``/``installed``) after the imported packages; it is not in the
  repository, so ``imported`` does not list it.
* Config lock: ``lock database override`` takes it, ``unlock database`` releases it, a
  reboot clears it. When another user holds it, ``show installer package`` starts with the
  ``CLINFR0771`` notice and the ``installer`` commands that change something fail with
  ``CLINFR0519``. When nobody holds it, the command's own session takes it (as a fresh
  clish session does on Gaia).

Texts marked INFERRED in ``docs/formats.md`` are module constants, so that captures from a
real box can replace them.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import time
from collections.abc import Callable

from mdstools.lab import verifier
from mdstools.lab.model import Deployment, LabError, Package, Rebooted, SimServer
from mdstools.lab.shell import IO, Shell, program
from mdstools.lab.versions import VERSIONS, profile
from mdstools.lab.vfs import VfsError

ClishHandler = Callable[[Deployment, SimServer, str, list[str], IO], int]
CLISH: dict[tuple[str, ...], ClishHandler] = {}


def clish_command(*words: str) -> Callable[[ClishHandler], ClishHandler]:
    """Register a clish command by its leading words."""

    def deco(fn: ClishHandler) -> ClishHandler:
        CLISH[tuple(words)] = fn
        return fn

    return deco


def run_line(dep: Deployment, server: SimServer, user: str, line: str, io: IO) -> int:
    """Run one clish command line; returns its exit status."""
    line = line.strip()
    if not line or line.startswith("#"):
        return 0
    try:
        words = shlex.split(line)
    except ValueError:
        io.print(f"CLINFR0329  Invalid command:'{line}'.")
        return 1
    for n in range(len(words), 0, -1):
        fn = CLISH.get(tuple(w.lower() for w in words[:n]))
        if fn is not None:
            return fn(dep, server, user, words[n:], io)
    io.print(f"CLINFR0329  Invalid command:'{line}'.")
    return 1


@clish_command("show", "version", "all")
def _show_version_all(
    dep: Deployment, server: SimServer, user: str, args: list[str], io: IO
) -> int:
    """``show version all``: product version, OS build, kernel and edition (4 lines)."""
    v = server.version
    io.print(f"Product version Check Point Gaia {v.name}")
    io.print(f"OS build {v.os_build}")
    io.print(f"OS kernel version {v.kernel}")
    io.print("OS edition 64-bit")
    return 0


@clish_command("show", "version", "product")
def _show_version_product(
    dep: Deployment, server: SimServer, user: str, args: list[str], io: IO
) -> int:
    """``show version product``: the ``Product version Check Point Gaia <release>`` line."""
    io.print(f"Product version Check Point Gaia {server.version.name}")
    return 0


@clish_command("set", "clienv", "rows")
def _set_rows(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``set clienv rows <n>``: accepted and ignored (the lab never pages output)."""
    return 0


@clish_command("show", "hostname")
def _show_hostname(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show hostname``: the server's name."""
    io.print(server.name)
    return 0


# =============================================================================================
# Config lock
# =============================================================================================
LOCK_NOTICE = (
    "CLINFR0771  Config lock is owned by {owner}. "
    "Use 'lock database override' to acquire the lock."
)  # VERBATIM
LOCK_ERROR = "CLINFR0519 Configuration lock present. Can not execute."  # VERBATIM


def _lock_held_by_other(server: SimServer, user: str) -> str | None:
    owner = server.config_lock_owner
    return owner if owner is not None and owner != user else None


def _need_lock(server: SimServer, user: str, io: IO) -> bool:
    """True when ``user`` may change the configuration; prints CLINFR0519 otherwise."""
    if _lock_held_by_other(server, user) is not None:
        io.print(LOCK_ERROR)
        return False
    return True


@clish_command("lock", "database", "override")
def _lock_override(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``lock database override``: take the configuration lock from whoever holds it.

    Run it before the ``installer`` commands. Prints nothing. The lock is held until
    ``unlock database``, another user's override, or a reboot.
    """
    with dep.lock:
        server.config_lock_owner = user
    return 0


@clish_command("unlock", "database")
def _unlock(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``unlock database``: release the configuration lock held by this user.

    Fails with the ``CLINFR0771`` notice when another user holds it.
    """
    with dep.lock:
        other = _lock_held_by_other(server, user)
        if other is not None:
            io.print(LOCK_NOTICE.format(owner=other))
            return 1
        server.config_lock_owner = None
    return 0


# =============================================================================================
# CPUSE
# =============================================================================================
REPOSITORY = "/var/log/CPda/repository"
INSTALL_LOG = "/opt/CPInstLog/install_{file_name}.log"
VERIFY_REPORT = "/var/log/CPUSE_pre_upgrade_verifier_{target}.txt"
DA_BUILD = "2473"
HOTFIX_INSTALL_SHARE = 0.2  # a hotfix installs in this share of Timings.upgrade
JUMBO_SIZE = 2_329_000_000  # bytes shown for the Jumbo that came with the release
NOT_INTERACTIVE = "not-interactive"

# -- texts (INFERRED unless marked VERBATIM) ---------------------------------------------------
INVALID_PACKAGE = "CLINFR0815 Invalid command or package cannot be processed"  # fixture text
UNKNOWN_ID = (
    "Package '{ident}' is not in the CPUSE repository. "
    "See the IDs with 'show installer packages imported'."
)
IMPORT_LINES = (
    "Preparing package for import. This operation might take a few moments",
    "Note: The selected package will be copied into CPUSE repository",
    "Info: Initiating import of {pkg}...",
    "Interactive mode is enabled. Press CTRL + C to exit (this will not stop the operation)",
)
ALREADY_IMPORTED = "Info: Package {pkg} is already imported."
CLOUD_OFFLINE = (
    "Connection error: the Check Point Cloud cannot be reached. "
    "Use 'installer import local <full path>'."
)
VERIFY_START = "Info: Initiating verify of {pkg}..."
INTERACTIVE_NOTE = (
    "Interactive mode is enabled. Press CTRL + C to exit (this will not stop the operation)"
)
VERIFY_RESULT = "Result: Verifier results:"
CLEAN_INSTALL_ALLOWED = "Clean Install: Clean Install is allowed."
UPGRADE_ALLOWED = "Upgrade: Upgrade is allowed."
UPGRADE_NOT_ALLOWED = "Upgrade: Upgrade is not allowed. {reason}"
INSTALL_ALLOWED = "Installation: Installation is allowed."
INSTALL_NOT_ALLOWED = "Installation: Installation is not allowed. {reason}"
VERIFIER_FAILED = "Pre-upgrade verification failed with {errors}."
REPORT_LINE = "Pre-upgrade verification report: {path}"
REFUSED = "Result: {what} is not allowed. {reason}"
UPGRADE_PROMPT = (  # fixture modelled on real output
    "The machine will automatically reboot after upgrade of {pkg}.",
    "Do you want to continue? ([y]es / [n]o) ",
)
INSTALL_PROMPT = (  # fixture modelled on real output
    "The machine will automatically reboot after install of {pkg}.",
    "Do you want to continue? ([y]es / [n]o / [s]uppress reboot) ",
)
CANCELLED = "Info: The {what} of {pkg} was cancelled. Nothing was changed."
UPGRADE_START = "Info: Initiating upgrade of {pkg}..."
INSTALL_START = "Info: Initiating install of {pkg}..."
NO_PACKAGES = {
    "all": "There are no packages",
    "imported": "There are no imported packages",  # DERIVED
    "installed": "There are no installed packages",
    "available": "There are no available packages",
}
STATUS_BUILD = "Build number: {build}"

# -- show installer packages layout (VERBATIM R82.10, docs/formats.md#show-installer-packages) -
# Scopes with a Status column ("all" and the like) and the "imported" scope (Type column)
# print different banner widths on the real box; the known lines are copied as they are.
_CONNECTION = "Connection error. Packages list might be incomplete"


def _boxed(left: int, text: str, right: int) -> str:
    return "**" + " " * left + text + " " * right + "**"


_BANNERS: dict[str, dict[str, str]] = {
    "status": {
        "": "**  " + "*" * 53 + " **",
        _CONNECTION: _boxed(7, _CONNECTION, 3),
        "Hotfixes": _boxed(23, "Hotfixes", 30),
        "Major Versions": _boxed(23, "Major Versions", 24),
    },
    "type": {
        "": "**  " + "*" * 73 + " **",
        _CONNECTION: _boxed(14, _CONNECTION, 11),
        "Hotfixes": _boxed(33, "Hotfixes", 35),
        "Major Versions": _boxed(30, "Major Versions", 32),
    },
}
NAME_WIDTH = {"status": 60, "type": 81}  # where the second column starts (VERBATIM)
NUM_WIDTH = 5  # "Num  " (INFERRED numbered layout of older releases)
NUMBERED_NAME_WIDTH = {"status": 60, "type": 63}
SHOW_CONNECTION_ERROR = True  # the lab is offline, like the captured box
GROUPS = (("Major Version", "Major Versions"), ("Hotfix", "Hotfixes"))

_UPGRADE_RE = re.compile(
    r"^Check_Point_(R\d+(?:\.\d+)?)_T(\d+)_.*Fresh_install_and_Upgrade", re.IGNORECASE
)
_HOTFIX_VERSION_RE = re.compile(r"^Check_Point_(R\d+(?:_\d+)?)_", re.IGNORECASE)
_JUMBO_RE = re.compile(r"JUMBO_HF_MAIN_Bundle_T(\d+)", re.IGNORECASE)


# -- helpers ---------------------------------------------------------------------------------
def _wait(dep: Deployment, server: SimServer, seconds: float) -> None:
    """Block ``seconds`` lab seconds; raises :class:`Rebooted` if the server goes down.

    There is no Shell in a clish handler, so this mirrors ``Shell.sleep``. On a manual
    clock (unit tests that advance time themselves) it returns at once.
    """
    boot, down = server.boot_count, server.down_event
    if dep.clock.manual:
        if server.boot_count != boot or down.is_set():
            raise Rebooted()
        return
    end = dep.clock.now() + seconds
    while True:
        if server.boot_count != boot or down.is_set():
            raise Rebooted()
        left = end - dep.clock.now()
        if left <= 0:
            return
        down.wait(min(left, 0.05))


def _split_id(args: list[str]) -> tuple[str, bool]:
    """(package id, not-interactive) from the words after the command."""
    words = list(args)
    quiet = False
    if words and words[-1].lower() == NOT_INTERACTIVE:
        quiet = True
        words.pop()
    return " ".join(words), quiet


def _version_key(name: str) -> tuple[int, int]:
    major, _, minor = name.upper().lstrip("R").partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return 0, 0


def _settle(dep: Deployment, server: SimServer) -> None:
    """Finish imports whose time has come (also scheduled, so the model stays current)."""
    now = dep.clock.now()
    with dep.lock:
        for p in server.packages.values():
            if p.status == "Importing" and now >= p.busy_until:
                p.status = "Imported"
                p.busy_status = ""


def _jumbo(server: SimServer, num: int) -> Package | None:
    """The Jumbo installed with the current release (not in the repository)."""
    if server.jumbo is None:
        return None
    name = f"Check_Point_{server.version.underscored}_JUMBO_HF_MAIN_Bundle_T{server.jumbo}_FULL.tgz"
    if name in server.packages:
        return None
    return Package(num, name, name, "Hotfix", None, status="Installed")


def _packages(dep: Deployment, server: SimServer, with_jumbo: bool = True) -> list[Package]:
    """The repository's packages by number, then the release's own Jumbo."""
    _settle(dep, server)
    with dep.lock:
        stored = sorted(server.packages.values(), key=lambda p: p.num)
        out = list(stored)
        if with_jumbo:
            j = _jumbo(server, max((p.num for p in stored), default=0) + 1)
            if j is not None:
                out.append(j)
        return out


def _find(dep: Deployment, server: SimServer, ident: str) -> Package | None:
    """A package by ``Num``, file name or display name."""
    pkgs = _packages(dep, server)
    if ident.isdigit():
        return next((p for p in pkgs if p.num == int(ident)), None)
    for exact in (True, False):
        for p in pkgs:
            names = (p.file_name, p.display_name)
            if (ident in names) if exact else ident.lower() in (n.lower() for n in names):
                return p
    return None


def _resolve(dep: Deployment, server: SimServer, ident: str, io: IO) -> Package | None:
    p = _find(dep, server, ident) if ident else None
    if p is None:
        io.print(INVALID_PACKAGE)
        io.print(UNKNOWN_ID.format(ident=ident))
    return p


def status(dep: Deployment, server: SimServer, p: Package) -> str:
    """What ``Status:`` shows for ``p`` now: ``Importing``, ``Installing 45%``, ..."""
    _settle(dep, server)
    now = dep.clock.now()
    with dep.lock:
        if p.status == "Installing":
            up = server.upgrade
            if up is not None and up.package == p.file_name:
                return f"Installing {dep.upgrade_progress(server)}%"
            if p.progress_to > p.progress_from:
                span = p.progress_to - p.progress_from
                pct = int(100 * (now - p.progress_from) / span)
                return f"Installing {max(0, min(99, pct))}%"
            return "Installing"
        if p.busy_status and now < p.busy_until:
            return p.busy_status
        return p.status


def _installing(server: SimServer) -> bool:
    return server.upgrade is not None or any(
        p.status == "Installing" for p in server.packages.values()
    )


def _ctime(t: float | None) -> str:
    return "N/A" if t is None else time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(t))


def _size(server: SimServer, p: Package) -> str:
    f = server.vfs.get(posixpath.join(REPOSITORY, p.file_name))
    size = f.size if f is not None else JUMBO_SIZE
    return f"{size / 1024**3:.3f} GB"


def _target_problem(server: SimServer, p: Package) -> str | None:
    """Why the Major Version ``p`` cannot upgrade ``server`` (None: it can)."""
    if p.status == "Installed":
        return "The package is already installed."
    if p.target is None or p.target not in VERSIONS:
        return f"The lab does not simulate release {p.target or 'unknown'}."
    if _version_key(p.target) <= _version_key(server.version.name):
        return f"This machine runs {server.version.name}; the package is for {p.target}."
    return None


def _hotfix_problem(server: SimServer, p: Package) -> str | None:
    """Why the Hotfix ``p`` cannot be installed on ``server`` (None: it can)."""
    if p.status == "Installed":
        return "The package is already installed."
    m = _HOTFIX_VERSION_RE.match(p.file_name)
    if m and m.group(1).upper() != server.version.underscored.upper():
        return f"The package is not applicable to {server.version.name}."
    return None


def _busy_problem(dep: Deployment, server: SimServer, p: Package) -> str | None:
    st = status(dep, server, p)
    if st == "Importing":
        return f"Package {p.file_name} is still being imported. Try again when it is Imported."
    if st.startswith("Installing"):
        return f"Package {p.file_name} is being installed ({st})."
    return None


def _ask(io: IO, lines: tuple[str, ...], pkg: str) -> str:
    """Print a confirmation prompt and read the answer (lower case, stripped)."""
    for line in lines[:-1]:
        io.print(line.format(pkg=pkg))
    io.out.write(lines[-1].format(pkg=pkg))
    answer = io.stdin.readline()
    if not io.tty:
        io.print()
    return answer.strip().lower()


def _log_install(dep: Deployment, server: SimServer, p: Package, text: str) -> None:
    path = INSTALL_LOG.format(file_name=p.file_name)
    try:
        server.vfs.mkdir(posixpath.dirname(path))
        server.vfs.write(path, f"{_ctime(dep.clock.wall())} {text}\n", append=True)
    except VfsError:
        pass


# -- installer import ---------------------------------------------------------------------------
@clish_command("installer", "import", "local")
def _import_local(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``installer import local <full path> [not-interactive]``: import a package file.

    Returns at once (as the real command does): the package is ``Importing`` for the
    import time, then ``Imported``. Confirm with ``show installer packages imported`` or
    ``show installer package <id>``. A missing file prints ``CLINFR0815 Invalid command or
    package cannot be processed`` and fails. Importing a file already in the repository
    only says so (exit 0).
    """
    path, _quiet = _split_id(args)
    if not path or not server.vfs.is_file(path):
        io.print(INVALID_PACKAGE)
        return 1
    if not _need_lock(server, user, io):
        return 1
    name = posixpath.basename(path)
    for line in IMPORT_LINES[:2]:
        io.print(line)
    with dep.lock:
        if name in server.packages:
            io.print(ALREADY_IMPORTED.format(pkg=name))
            return 0
        src = server.vfs.get(path)
        size = src.size if src is not None else 0
        try:
            server.vfs.mkdir(REPOSITORY)
            server.vfs.write(posixpath.join(REPOSITORY, name), server.vfs.read(path), size=size)
        except VfsError as exc:
            io.print(INVALID_PACKAGE)
            io.print(str(exc))
            return 1
        m = _UPGRADE_RE.match(name)
        now = dep.clock.now()
        num = max((p.num for p in server.packages.values()), default=0) + 1
        pkg = Package(
            num,
            name,
            name,
            "Major Version" if m else "Hotfix",
            m.group(1) if m else None,
            status="Importing",
            imported_on=dep.clock.wall(),
            busy_until=now + dep.clock.dur(dep.timings.import_package),
            busy_status="Importing",
        )
        server.packages[name] = pkg
        dep.log(f"{server.name}: CPUSE import of {name} (#{num})")
    dep.scheduler.at(pkg.busy_until + 1e-6, lambda: _settle(dep, server))
    for line in IMPORT_LINES[2:]:
        io.print(line.format(pkg=name))
    return 0


@clish_command("installer", "import")
def _import_cloud(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``installer import <cloud id>``: download from the Check Point Cloud (the lab is
    offline: always fails; use ``installer import local``)."""
    io.print(CLOUD_OFFLINE)
    return 1


# -- installer verify ---------------------------------------------------------------------------
@clish_command("installer", "verify")
def _verify(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``installer verify <id> [not-interactive]``: run the CPUSE verifier on a package.

    Blocks for the verification time (status ``Verifying``). A Major Version prints
    ``Clean Install: Clean Install is allowed.`` and ``Upgrade: Upgrade is allowed.``, or
    ``Upgrade: Upgrade is not allowed. Pre-upgrade verification failed with N error(s).``
    when the pre-upgrade verifier finds errors; the report is written to
    ``/var/log/CPUSE_pre_upgrade_verifier_<target>.txt`` and named on the last line. A
    Hotfix prints ``Installation: Installation is (not) allowed.`` Exit 0 when allowed, 1
    when not (or on an unknown id).
    """
    ident, _quiet = _split_id(args)
    p = _resolve(dep, server, ident, io)
    if p is None:
        return 1
    if not _need_lock(server, user, io):
        return 1
    if status(dep, server, p) == "Importing":
        io.print(
            REFUSED.format(
                what="Verification", reason=f"Package {p.file_name} is still being imported."
            )
        )
        return 1
    io.print(VERIFY_START.format(pkg=p.display_name))
    io.print(INTERACTIVE_NOTE)
    duration = dep.clock.dur(dep.timings.verify_package)
    with dep.lock:
        if p.file_name in server.packages:
            p.busy_status, p.busy_until = "Verifying", dep.clock.now() + duration
    _wait(dep, server, duration)
    io.print(VERIFY_RESULT)
    if p.type != "Major Version":
        problem = _hotfix_problem(server, p)
        if problem:
            io.print(INSTALL_NOT_ALLOWED.format(reason=problem))
            return 1
        io.print(INSTALL_ALLOWED)
        return 0
    target = p.target or "unknown"
    io.print(CLEAN_INSTALL_ALLOWED)
    errors, _warnings = verifier.counts(server)
    problem = _target_problem(server, p)
    if problem is None and errors:
        problem = VERIFIER_FAILED.format(errors=f"{errors} error(s)")
    path = VERIFY_REPORT.format(target=target)
    try:
        server.vfs.write(path, verifier.report(server, server.version.name, target))
    except VfsError:
        path = ""
    io.print(UPGRADE_NOT_ALLOWED.format(reason=problem) if problem else UPGRADE_ALLOWED)
    if path:
        io.print(REPORT_LINE.format(path=path))
    return 1 if problem else 0


# -- installer upgrade / install -------------------------------------------------------------
@clish_command("installer", "upgrade")
def _upgrade(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``installer upgrade <id> [not-interactive]``: upgrade to a Major Version package.

    Refused (``Result: Upgrade is not allowed. <reason>``, exit 1) when the package is not
    an imported Major Version for a newer release, another installation runs, or the
    pre-upgrade verifier reports errors. Without ``not-interactive`` it asks
    ``Do you want to continue? ([y]es / [n]o)`` on stdin. Then it starts the upgrade and
    returns at once: poll ``show installer package <id>`` (``Installing N%``); the server
    reboots and comes back on the new release with the package ``Installed``.
    """
    ident, quiet = _split_id(args)
    p = _resolve(dep, server, ident, io)
    if p is None:
        return 1
    if not _need_lock(server, user, io):
        return 1

    def refuse(reason: str) -> int:
        io.print(REFUSED.format(what="Upgrade", reason=reason))
        return 1

    if p.type != "Major Version":
        return refuse(f"{p.file_name} is a {p.type} package: use 'installer install {ident}'.")
    busy = _busy_problem(dep, server, p)
    if busy:
        return refuse(busy)
    problem = _target_problem(server, p)
    if problem:
        return refuse(problem)
    if _installing(server):
        return refuse("Another installation is in progress on this machine.")
    errors, _warnings = verifier.counts(server)
    if errors:
        return refuse(
            VERIFIER_FAILED.format(errors=f"{errors} error(s)")
            + f" Run 'installer verify {ident}' for the report."
        )
    if not quiet and _ask(io, UPGRADE_PROMPT, p.display_name) not in ("y", "yes"):
        io.print(CANCELLED.format(what="upgrade", pkg=p.display_name))
        return 1
    assert p.target is not None
    with dep.lock:
        try:
            dep.start_upgrade(server, profile(p.target, dep.columns), p.file_name)
        except LabError as exc:
            return refuse(exc.message)
        p.status = "Installing"
    _log_install(dep, server, p, f"Upgrade to {p.target} started")
    io.print(UPGRADE_START.format(pkg=p.display_name))
    return 0


def _finish_install(
    dep: Deployment, server: SimServer, p: Package, boot: int, reboot: bool
) -> None:
    with dep.lock:
        if p.status != "Installing":
            return
        if server.boot_count != boot:
            p.status = "Failed"
            return
        p.status = "Installed"
        p.installed_on = dep.clock.wall()
        m = _JUMBO_RE.search(p.file_name)
        if m:
            server.jumbo = int(m.group(1))
        dep.log(f"{server.name}: CPUSE installed {p.file_name}")
    _log_install(dep, server, p, "Installation completed successfully")
    if reboot:
        dep.reboot(server)


@clish_command("installer", "install")
def _install(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``installer install <id> [not-interactive]``: install a Hotfix package.

    Without ``not-interactive`` it asks ``Do you want to continue? ([y]es / [n]o /
    [s]uppress reboot)``. Returns at once; the package shows ``Installing N%``, then
    ``Installed`` (a Jumbo becomes the server's Jumbo take) and the server reboots, unless
    the answer was ``s``. Major Versions are refused: use ``installer upgrade``.
    """
    ident, quiet = _split_id(args)
    p = _resolve(dep, server, ident, io)
    if p is None:
        return 1
    if not _need_lock(server, user, io):
        return 1

    def refuse(reason: str) -> int:
        io.print(REFUSED.format(what="Installation", reason=reason))
        return 1

    if p.type == "Major Version":
        return refuse(
            f"{p.file_name} is a Major Version: use 'installer upgrade {ident}' "
            "(the lab does not simulate a clean install)."
        )
    busy = _busy_problem(dep, server, p)
    if busy:
        return refuse(busy)
    if p.file_name not in server.packages and p.status != "Installed":
        return refuse(f"{p.file_name} is not in the CPUSE repository.")
    problem = _hotfix_problem(server, p)
    if problem:
        return refuse(problem)
    if _installing(server):
        return refuse("Another installation is in progress on this machine.")
    reboot = True
    if not quiet:
        answer = _ask(io, INSTALL_PROMPT, p.display_name)
        if answer in ("s", "suppress"):
            reboot = False
        elif answer not in ("y", "yes"):
            io.print(CANCELLED.format(what="installation", pkg=p.display_name))
            return 1
    with dep.lock:
        now = dep.clock.now()
        p.status = "Installing"
        p.progress_from = now
        p.progress_to = now + dep.clock.dur(dep.timings.upgrade * HOTFIX_INSTALL_SHARE)
        boot = server.boot_count
    dep.scheduler.at(p.progress_to, lambda: _finish_install(dep, server, p, boot, reboot))
    _log_install(dep, server, p, "Installation started")
    io.print(INSTALL_START.format(pkg=p.display_name))
    return 0


# -- show installer -----------------------------------------------------------------------------
def _banner(style: str, text: str) -> list[str]:
    table = _BANNERS[style]
    stars = table[""]
    line = table.get(text)
    if line is None:
        inner = len(stars) - 4
        line = "**" + text.center(inner) + "**"
    return [stars, line, stars]


def _pad(text: str, width: int) -> str:
    return text.ljust(max(width, len(text) + 2))


@clish_command("show", "installer", "packages")
def _show_packages(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show installer packages [all|imported|installed|available]``: the CPUSE packages.

    Banners (``Connection error...``: the lab is offline), one group per type
    (``Major Versions``, ``Hotfixes``), then a ``Display name`` table: ``Status`` column for
    ``all``/``installed``/``available``, ``Type`` for ``imported``. Releases that number
    their lists (R81.20 and older in the lab) add a ``Num`` column first: the ID for
    ``installer`` commands. ``available`` lists imported packages not installed yet. An empty
    list prints ``There are no <scope> packages``.
    """
    scope = args[0].lower() if args else "all"
    if scope not in NO_PACKAGES:
        io.print(f"CLINFR0329  Invalid command:'show installer packages {' '.join(args)}'.")
        return 1
    pkgs = _packages(dep, server, with_jumbo=scope != "imported")
    rows: list[tuple[Package, str]] = []
    for p in pkgs:
        st = status(dep, server, p)
        if scope == "installed" and not st.startswith("Installed"):
            continue
        if scope == "available" and st != "Imported":
            continue
        rows.append((p, st))
    style = "type" if scope == "imported" else "status"
    if SHOW_CONNECTION_ERROR:
        for line in _banner(style, _CONNECTION):
            io.print(line)
    if not rows:
        io.print(NO_PACKAGES[scope])
        return 0
    numbered = server.version.numbered_installer_list
    width = NUMBERED_NAME_WIDTH[style] if numbered else NAME_WIDTH[style]
    second = "Type" if style == "type" else "Status"
    for ptype, group in GROUPS:
        members = [
            (p, st) for p, st in rows if (p.type == "Major Version") == (ptype == "Major Version")
        ]
        if not members:
            continue
        for line in _banner(style, group):
            io.print(line)
        head = _pad("Display name", width) + second
        io.print((_pad("Num", NUM_WIDTH) + head) if numbered else head)
        for p, st in members:
            line = _pad(p.display_name, width) + (p.type if style == "type" else st)
            io.print((_pad(str(p.num), NUM_WIDTH) + line) if numbered else line)
    return 0


@clish_command("show", "installer", "package")
def _show_package(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show installer package <id>``: one package as ``Key:   value`` lines.

    ``Status:`` moves ``Importing`` -> ``Imported`` -> (``Verifying``) -> ``Installing N%``
    -> ``Installed`` (after the reboot, for an upgrade). The first line is the
    ``CLINFR0771`` config-lock notice when another user holds the lock.
    """
    ident, _quiet = _split_id(args)
    other = _lock_held_by_other(server, user)
    if other is not None:
        io.print(LOCK_NOTICE.format(owner=other))
    p = _resolve(dep, server, ident, io)
    if p is None:
        return 1
    st = status(dep, server, p)
    log = INSTALL_LOG.format(file_name=p.file_name)
    fields = [
        ("Display name", p.display_name),
        ("File name", p.file_name),
        ("Description", "No Description"),
        ("Size", _size(server, p)),
        ("Type", p.type),
        ("Status", st),
        ("Requires reboot", "true"),
        ("Recommended", "false"),
        ("Contains", "None"),
        ("Contained-in", "None"),
        ("Downloaded on", "N/A"),
        ("Imported on", _ctime(p.imported_on)),
        ("Installed on", _ctime(p.installed_on)),
        ("Installation log", log if server.vfs.is_file(log) else "N/A"),
    ]
    for key, value in fields:
        io.print(f"{key + ':':<18}{value}")
    return 0


@clish_command("show", "installer", "status")
def _show_status(dep: Deployment, server: SimServer, user: str, args: list[str], io: IO) -> int:
    """``show installer status [build|all]``: the Deployment Agent build (``Build number:
    N``); ``all`` adds what CPUSE is doing now."""
    io.print(STATUS_BUILD.format(build=DA_BUILD))
    if args and args[0].lower() == "all":
        running = [
            p
            for p in _packages(dep, server, with_jumbo=False)
            if status(dep, server, p).startswith(("Importing", "Installing", "Verifying"))
        ]
        if not running:
            io.print("Status: Idle")
        for p in running:
            io.print(f"Status: {status(dep, server, p)} {p.display_name}")
    return 0


@program("clish")
def clish_program(sh: Shell, argv: list[str], io: IO) -> int:
    """``clish -c "<command>"`` from bash; without ``-c``, clish reads commands from stdin."""
    args = argv[1:]
    if "-c" in args:
        i = args.index("-c")
        if i + 1 >= len(args):
            io.eprint("clish: option requires an argument -- 'c'")
            return 1
        return run_line(sh.dep, sh.server, sh.user, args[i + 1], io)
    rc = 0
    while line := io.stdin.readline():
        rc = run_line(sh.dep, sh.server, sh.user, line, io)
    return rc
