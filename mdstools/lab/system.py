"""The files of a simulated Gaia MDS: where programs live and what the profiles export.

A real Gaia exec channel loads no Check Point environment: ``/etc/profile.d/CP.sh`` (or
``$MDSDIR/scripts/MDSprofile.sh``) has to be sourced first. The lab writes those profiles
as shell scripts that its own shell runs, so sourcing them really sets the variables.
"""

from __future__ import annotations

from mdstools.lab.model import SimServer

CORE_PROGRAMS = (
    "cat",
    "ls",
    "grep",
    "egrep",
    "head",
    "tail",
    "wc",
    "awk",
    "sleep",
    "date",
    "hostname",
    "whoami",
    "id",
    "uname",
    "mkdir",
    "rm",
    "mv",
    "cp",
    "touch",
    "df",
    "du",
    "stat",
    "sha256sum",
    "md5sum",
    "env",
    "tee",
    "sort",
    "uniq",
    "cut",
    "tr",
    "nohup",
    "sh",
    "bash",
    "uptime",
    "timeout",
    "basename",
    "dirname",
    "xargs",
    "seq",
    "reboot",
    "sed",
    "tar",
    "base64",
    "mktemp",
)


def mds_dir(version: str) -> str:
    return f"/opt/CPmds-{version}"


def env_for(server: SimServer) -> dict[str, str]:
    """The variables ``CP.sh`` + ``mdsenv`` (MDS level) export."""
    v = server.version.name
    mdsdir = mds_dir(v)
    cpdir = f"/opt/CPshrd-{v}"
    fwdir = f"{mdsdir}/fw1"
    return {
        "MDSDIR": mdsdir,
        "MDS_FWDIR": f"{mdsdir}/fw1",
        "MDS_CPDIR": cpdir,
        "FWDIR": fwdir,
        "CPDIR": cpdir,
        "CPMDIR": f"{mdsdir}/fw1",
        "SUROOT": "/var/suroot",
        "CPVER": v,
        "MDSVERUTIL": f"{mdsdir}/scripts/MDSVerUtil",
        "MDS_SYSTEM": f"{mdsdir}/system",
        "CP_MDS_ENV": "1",
    }


def profile_text(server: SimServer) -> str:
    env = env_for(server)
    lines = ["# Check Point environment (simulated by mdstools lab)"]
    lines += [f"export {k}={v}" for k, v in env.items()]
    path = ":".join(
        [
            f"{env['MDSDIR']}/bin",
            f"{env['CPDIR']}/bin",
            f"{env['MDS_FWDIR']}/bin",
            "/bin",
            "/usr/bin",
            "/sbin",
            "/usr/sbin",
        ]
    )
    lines.append(f"export PATH={path}:$PATH")
    return "\n".join(lines) + "\n"


def install(server: SimServer, upload_files: list[str] | None = None) -> None:
    """Lay out the filesystem of ``server`` for its current version (again after an upgrade)."""
    vfs = server.vfs
    v = server.version.name
    for d in (
        "/bin",
        "/usr/bin",
        "/sbin",
        "/usr/sbin",
        "/etc/profile.d",
        "/tmp",
        "/home/admin",
        "/var/log",
        "/var/log/upload",
        "/var/log/mds_backups",
        "/var/tmp",
        "/opt",
        "/root",
    ):
        vfs.mkdir(d)
    for name in CORE_PROGRAMS:
        vfs.install(f"/bin/{name}", name)
    vfs.install("/bin/clish", "clish")
    vfs.install("/usr/bin/clish", "clish")
    for old in vfs.listdir("/opt"):
        if old.startswith(("CPmds-", "CPshrd-")) and not old.endswith(v):
            vfs.remove(f"/opt/{old}", recursive=True)
    env = env_for(server)
    mdsdir, cpdir = env["MDSDIR"], env["CPDIR"]
    vfs.write("/etc/cp-release", f"Check Point Gaia {v}\n")
    vfs.write("/etc/profile.d/CP.sh", profile_text(server))
    mds_programs = [
        "mdsstat",
        "mdsstart",
        "mdsstop",
        "mdsstart_customer",
        "mdsstop_customer",
        "mds_backup",
        "mds_restore",
    ]
    for name in mds_programs:
        vfs.install(f"{mdsdir}/bin/{name}", name)
    vfs.install(f"{mdsdir}/scripts/MDSVerUtil", "mdsverutil")
    vfs.install(f"{mdsdir}/scripts/mdsquerydb", "mdsquerydb")
    vfs.install(f"{mdsdir}/scripts/mds_fix_cmas_clms_version", "mds_fix_cmas_clms_version")
    vfs.install(f"{mdsdir}/scripts/mds_setup", "mds_setup")
    vfs.install(f"{mdsdir}/bin/mdsenv", "mdsenv")
    vfs.write(f"{mdsdir}/scripts/MDSprofile.sh", profile_text(server))
    vfs.install(f"{mdsdir}/fw1/bin/fw", "fw")
    vfs.install(f"{mdsdir}/fw1/bin/fwm", "fwm")
    vfs.install(f"{mdsdir}/fw1/bin/upgrade_tools/pre_upgrade_verifier", "pre_upgrade_verifier")
    vfs.install(f"{cpdir}/bin/cpinfo", "cpinfo")
    vfs.install(f"{cpdir}/bin/cpprod_util", "cpprod_util")
    vfs.install(f"{cpdir}/bin/mgmt_cli", "mgmt_cli")
    vfs.install(f"{cpdir}/bin/cpstop", "cpstop")
    vfs.install(f"{cpdir}/bin/cpstart", "cpstart")
    vfs.mkdir(f"{mdsdir}/customers")
    for dms in server.locals:
        if not dms.is_global:
            vfs.mkdir(f"{mdsdir}/customers/{dms.name}/CPsuite-{v}/fw1/log")
    for f in upload_files or []:
        if not vfs.exists(f):
            vfs.write(f, b"simulated CPUSE package\n", size=4_200_000_000)
