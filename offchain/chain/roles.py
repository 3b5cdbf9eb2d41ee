"""Roles of the protocol by name, and who holds them.

| name           | contract   | role                  | may                                   |
|----------------|------------|-----------------------|---------------------------------------|
| ``admin``      | NetworkHub | ``DEFAULT_ADMIN_ROLE``| domains, parameters, blacklists, roles|
| ``validator``  | NetworkHub | ``VALIDATOR_ROLE``    | validate nodes, attest reports        |
| ``pool-creator``| NetworkHub| ``POOL_CREATOR_ROLE`` | create pools                          |
| ``guardian``   | NetworkHub | ``GUARDIAN_ROLE``     | pause (never unpause or move funds)   |
| ``token-admin``| LoraToken  | ``DEFAULT_ADMIN_ROLE``| grant minter, set the mint allowance  |
| ``minter``     | LoraToken  | ``MINTER_ROLE``       | mint within the allowance and the cap |

After a production deployment every admin role sits with the governance timelock
(``docs/deploy.md``); there is no burner role (nobody burns another account's tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from offchain.chain.errors import PrecheckError

DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class RoleSpec:
    name: str
    contract: str  # deployment name
    role: bytes


ROLES: dict[str, RoleSpec] = {
    spec.name: spec
    for spec in (
        RoleSpec("admin", "NetworkHub", DEFAULT_ADMIN_ROLE),
        RoleSpec("validator", "NetworkHub", Web3.keccak(text="VALIDATOR_ROLE")),
        RoleSpec("pool-creator", "NetworkHub", Web3.keccak(text="POOL_CREATOR_ROLE")),
        RoleSpec("guardian", "NetworkHub", Web3.keccak(text="GUARDIAN_ROLE")),
        RoleSpec("token-admin", "LoraToken", DEFAULT_ADMIN_ROLE),
        RoleSpec("minter", "LoraToken", Web3.keccak(text="MINTER_ROLE")),
    )
}


def role_spec(name: str) -> RoleSpec:
    """The role called ``name``; a ``PrecheckError`` sentence listing the known ones."""
    key = name.strip().lower().replace("_", "-")
    if key not in ROLES:
        raise PrecheckError(f"unknown role '{name}': choose one of {', '.join(ROLES)}.")
    return ROLES[key]


def role_name(contract: str, role: bytes) -> str:
    """The name of ``role`` on ``contract`` (hex when unknown)."""
    for spec in ROLES.values():
        if spec.contract == contract and spec.role == bytes(role):
            return spec.name
    return "0x" + bytes(role).hex()
