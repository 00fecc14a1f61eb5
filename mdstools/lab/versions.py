"""What each simulated Check Point release prints and supports.

Everything here that is not marked VERBATIM in ``docs/formats.md`` is a
reconstruction; it lives in one table so that a capture from a real MDS can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DEFAULT_COLUMNS: tuple[str, ...] = ("FWM", "FWD", "CPD", "CPCA")


@dataclass(frozen=True)
class VersionProfile:
    """One Check Point release as the lab simulates it."""

    name: str
    fw_build: str
    os_build: str
    kernel: str
    jumbo_take: int | None
    api_version: str
    process_columns: tuple[str, ...] = DEFAULT_COLUMNS
    has_ha_status: bool = False
    has_servers_and_processes: bool = True
    numbered_installer_list: bool = True

    @property
    def underscored(self) -> str:
        """``R81.20`` -> ``R81_20`` as in hotfix names."""
        return self.name.replace(".", "_")

    @property
    def upgrade_package(self) -> str:
        """The CPUSE file name of the Fresh-install-and-Upgrade package to this release."""
        return f"Check_Point_{self.name}_T{self.os_build}_Fresh_install_and_Upgrade.tgz"


VERSIONS: dict[str, VersionProfile] = {
    p.name: p
    for p in (
        VersionProfile(
            "R80.40",
            "294",
            "294",
            "3.10.0-957.21.3cpx86_64",
            198,
            "1.6.1",
            has_servers_and_processes=False,
        ),
        VersionProfile(
            "R81",
            "392",
            "392",
            "3.10.0-957.21.3cpx86_64",
            77,
            "1.7.1",
            has_servers_and_processes=False,
        ),
        VersionProfile("R81.10", "335", "335", "3.10.0-957.21.3cpx86_64", 130, "1.8.1"),
        VersionProfile(
            "R81.20", "059", "631", "3.10.0-957.21.3cpx86_64", 122, "1.9.1", has_ha_status=True
        ),
        VersionProfile(
            "R82",
            "777",
            "777",
            "4.18.0-305.3cpx86_64",
            25,
            "2",
            has_ha_status=True,
            numbered_installer_list=False,
        ),
    )
}


def profile(name: str, columns: dict[str, tuple[str, ...]] | None = None) -> VersionProfile:
    """The profile of release ``name``, with the process columns overridden if asked."""
    try:
        base = VERSIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown release {name!r}; the lab knows {', '.join(sorted(VERSIONS))}"
        ) from None
    if columns and name in columns:
        return replace(base, process_columns=tuple(columns[name]))
    return base
