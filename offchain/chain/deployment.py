"""``deployments/<network>.json``: where loranet's contracts live on one chain."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from offchain.chain.errors import DeploymentError

logger = logging.getLogger(__name__)


class Deployment(BaseModel):
    """The contents written by ``ape run deploy`` (extra keys are kept but unused)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    chain_id: int
    block: int = 0
    deployer: str | None = None
    network: str | None = None
    contracts: dict[str, str]
    funded: list[str] = []
    abi_digests: dict[str, str] = {}
    domains: dict[str, int] = {}

    @field_validator("contracts")
    @classmethod
    def _checksum(cls, value: dict[str, str]) -> dict[str, str]:
        for name, address in value.items():
            if not is_address(address):
                raise ValueError(f"{name} has an invalid address {address!r}")
        return {name: str(to_checksum_address(address)) for name, address in value.items()}

    def address(self, name: str) -> str:
        """The address of contract ``name``; raises ``DeploymentError`` when it is absent."""
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise DeploymentError(
                f"the deployment has no {name} (it has: {known}); redeploy with `ape run deploy`."
            ) from None


def load_deployment(path: Path, *, network: str | None = None) -> Deployment:
    """Read and validate a deployment file.

    Raises:
        DeploymentError: the file is missing or is not a valid deployment.
    """
    if not path.is_file():
        hint = (
            "run `loranet devnet up` (or `ape run deploy --network ethereum:local:foundry`)"
            if network in (None, "local")
            else "deploy with `ape run deploy --network <ecosystem>:<network>:<provider>`"
            " or set LORANET_DEPLOYMENTS_FILE"
        )
        raise DeploymentError(f"deployment file {path} not found: {hint}.")
    try:
        deployment = Deployment.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as err:
        raise DeploymentError(f"deployment file {path} is not valid: {_first(err)}.") from None
    logger.debug(
        "deployment %s chain=%s contracts=%s", path, deployment.chain_id, deployment.contracts
    )
    return deployment


def _first(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err)
