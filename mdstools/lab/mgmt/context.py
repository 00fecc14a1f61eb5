"""The context of one call: where it runs, the domain it reached and what it was asked."""

from __future__ import annotations

from dataclasses import dataclass

from mdstools.lab.mgmt.errors import MgmtCliError
from mdstools.lab.mgmt.render import JsonObj
from mdstools.lab.mgmt.sessions import ApiSession
from mdstools.lab.model import Deployment, Domain, DomainServer, SimServer
from mdstools.lab.shell import Shell


@dataclass
class Ctx:
    """Everything a command handler needs: where it runs and what it was asked."""

    dep: Deployment
    sh: Shell
    server: SimServer
    domain: Domain | None  # None: System Data
    local: DomainServer | None  # the copy of ``domain`` hosted on ``server``
    params: JsonObj
    options: dict[str, str]
    session: ApiSession | None = None  # None: implicit session (-r true without -s)

    def param(self, key: str, default: str | None = None) -> str | None:
        value = self.params.get(key, default)
        return value if value is None or isinstance(value, str) else str(value)

    def require(self, key: str) -> str:
        value = self.params.get(key)
        if value is None or value == "":
            raise MgmtCliError(
                "generic_err_missing_required_parameters", f"Missing parameter: [{key}]"
            )
        return value if isinstance(value, str) else str(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.param(key)
        return default if value is None else value.lower() == "true"

    def number(self, key: str, default: int) -> int:
        value = self.param(key)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise MgmtCliError(
                "generic_err_invalid_parameter",
                f"Invalid parameter for [{key}]. Invalid value [{value}]",
            ) from None

    @property
    def full(self) -> bool:
        return self.param("details-level") == "full"

    def need_local(self) -> DomainServer:
        if self.local is None:
            raise MgmtCliError(
                "err_inappropriate_domain_type",
                "This command is not available in the System Data domain: log in "
                "to a domain or to the Global domain (-d).",
            )
        return self.local
