"""The testnet faucet (``LoraFaucet``): a drip of LORA per address per cooldown.

A deployment has a faucet only when it was deployed with ``ape run deploy --faucet``; its
address is ``contracts.LoraFaucet`` in the deployment file.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from offchain.chain.errors import PrecheckError
from offchain.chain.operator import OperatorActions, summary
from offchain.chain.protocol import utc
from offchain.chain.provider import ActionResult
from offchain.chain.units import format_lora

logger = logging.getLogger(__name__)

FAUCET = "LoraFaucet"


@dataclass(frozen=True)
class FaucetView:
    address: str
    drip: int
    cooldown: int
    balance: int
    next_drip_at: int
    now: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drip": str(self.drip), "balance": str(self.balance)}


class FaucetActions(OperatorActions):
    """Take a drip as ``caller``."""

    def faucet(self) -> Any:
        client = self.protocol.client
        if not client.has(FAUCET):
            raise PrecheckError(
                f"the deployment on chain {client.chain_id} has no faucet: ask its operator for "
                "LORA (faucets exist only on testnets deployed with `ape run deploy --faucet`)."
            )
        return client.contract(FAUCET)

    def view(self) -> FaucetView:
        faucet = self.faucet()
        functions = faucet.functions
        return FaucetView(
            address=str(faucet.address),
            drip=int(functions.dripAmount().call()),
            cooldown=int(functions.cooldown().call()),
            balance=int(self.protocol.token.functions.balanceOf(faucet.address).call()),
            next_drip_at=int(functions.nextDripAt(self.caller).call()),
            now=self.protocol.now(),
        )

    def drip(self) -> ActionResult:
        view = self.view()
        if view.now < view.next_drip_at:
            raise PrecheckError(
                f"{self.caller} took a drip recently: the next one is possible at "
                f"{utc(view.next_drip_at)}."
            )
        if view.balance < view.drip:
            raise PrecheckError(
                f"the faucet holds {format_lora(view.balance)}, less than a drip of "
                f"{format_lora(view.drip)}: ask its operator to refill it."
            )
        result = self.call(self.faucet(), "drip", description="take a faucet drip")
        return summary(result, account=self.caller, received=str(view.drip))
