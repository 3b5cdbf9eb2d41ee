"""Project-wide fixtures: the whole loranet protocol deployed once per test session.

Every test runs under ``ape test --network ethereum:local:foundry``: Ape's plugin starts one
anvil for the session and snapshots the chain around each scope, so what a test sends is rolled
back afterwards. A session-scoped fixture that deploys is part of Ape's session snapshot (Ape
re-bases lower scopes when such a fixture arrives late), so the deployment survives every test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import DeployParams, deploy_all


@dataclass(frozen=True)
class ProtocolDeployment:
    """The protocol as ``scripts/deploy.py`` deployed it on the test anvil.

    Attributes:
        contracts: Contract name -> checksummed address (``LoraToken``, ``NetworkHub``,
            ``StakeManager``, ``ComputeRegistry``, ``DomainRegistry``, ``ComputePool``,
            ``WorkLedger``).
        rpc_url: HTTP endpoint of the test anvil (for web3.py clients).
        chain_id: Chain id of the test anvil (31337).
        file: The deployment file written for this session (same format as
            ``deployments/<network>.json``), in a temporary folder.
        data: The file's contents (``abi_digests``, ``domains``, ``params``, ``roles``...).
        accounts: Ape's test accounts 0..9 (each has ``.address`` and ``.private_key``).
            Account 0 deployed everything and holds ``DEFAULT_ADMIN_ROLE`` (hub and token),
            ``VALIDATOR_ROLE`` and ``POOL_CREATOR_ROLE``; accounts 0..9 hold 100,000 LORA each
            (account 0 escrows the budgets of the pools it creates).
    """

    contracts: dict[str, str]
    rpc_url: str
    chain_id: int
    file: Path
    data: dict[str, Any]
    accounts: list[Any] = field(repr=False)

    @property
    def deployer(self) -> Any:
        """Test account 0 (admin, validator, pool creator)."""
        return self.accounts[0]


@pytest.fixture(scope="session")
def deployment(
    accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory
) -> ProtocolDeployment:
    """The whole protocol deployed and wired once per session with ``deploy_all``.

    Parameters are ``DeployParams()`` defaults (base stake 1000 LORA, 10 LORA per compute unit,
    unbonding 7 days, burn 50 %, treasury = deployer; domains ``lora-finetune`` (id 1) and
    ``inference`` (id 2) with quorum 1 and a 3600 s challenge window), plus roles for account 0.
    No pool exists yet: tests create what they need (their transactions are rolled back).
    Request this fixture before module-scoped chain fixtures to keep Ape's snapshots cheap.
    """
    deployer = accounts[0]
    params = DeployParams(
        validators=(deployer.address,),
        pool_creators=(deployer.address,),
        dev_admin=True,  # the deployer stays admin beside the timelock (a dev chain)
        voting_delay=1,  # governance clocks in blocks/seconds short enough for tests
        voting_period=20,
        queue_period=20,
        timelock_delay=60,
    )
    out_dir = tmp_path_factory.mktemp("deployments")
    data = deploy_all(deployer, params, network="local", out_dir=out_dir, fund=list(accounts)[:10])
    return ProtocolDeployment(
        contracts=dict(data["contracts"]),
        rpc_url=str(chain.provider.http_uri),
        chain_id=int(chain.chain_id),
        file=out_dir / "local.json",
        data=data,
        accounts=list(accounts),
    )
