"""A folder of encrypted keystore files, one ``<alias>.json`` per key."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from offchain.errors import LoranetError
from offchain.logging import kv

logger = logging.getLogger(__name__)

ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_SCRYPT_N = 2**18  # eth-account's (and geth's) default work factor


class UnknownAccountError(LoranetError):
    """No keystore file has that alias or address."""


class WrongPasswordError(LoranetError):
    """The password does not decrypt the keystore."""


class AccountExistsError(LoranetError):
    """A keystore with that alias already exists."""


class InvalidPrivateKeyError(LoranetError):
    """The text given is not a private key, or the alias is not a valid name."""


@dataclass(frozen=True)
class KeyInfo:
    """One keystore file: its alias (the file stem), address and path."""

    alias: str
    address: str
    path: Path


class Keystore:
    """Encrypted keys in one folder; ``kind`` ("account" or "node key") is used in messages."""

    def __init__(self, folder: Path, *, kind: str = "account", scrypt_n: int = DEFAULT_SCRYPT_N):
        self.folder = folder
        self.kind = kind
        self.scrypt_n = scrypt_n

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[KeyInfo]:
        """Every readable keystore of the folder, sorted by alias."""
        if not self.folder.is_dir():
            return []
        infos = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                address = _read_address(path)
            except (OSError, ValueError, KeyError):
                logger.warning("skipping unreadable keystore", extra=kv(path=str(path)))
                continue
            infos.append(KeyInfo(alias=path.stem, address=address, path=path))
        return infos

    def get(self, name: str) -> KeyInfo:
        """The keystore named by alias or address.

        Raises:
            UnknownAccountError: nothing in the folder matches.
        """
        for info in self.entries():
            if info.alias == name or (is_address(name) and info.address.lower() == name.lower()):
                return info
        known = ", ".join(info.alias for info in self.entries()) or "none"
        raise UnknownAccountError(
            f"unknown {self.kind} '{name}' in {self.folder} (known: {known})."
        )

    def unlock(self, name: str, password: str) -> LocalAccount:
        """Decrypt a key into memory.

        Raises:
            UnknownAccountError: no such alias or address.
            WrongPasswordError: the password does not decrypt it.
        """
        info = self.get(name)
        keyfile = json.loads(info.path.read_text(encoding="utf-8"))
        try:
            key = Account.decrypt(keyfile, password)
        except ValueError:
            raise WrongPasswordError(
                f"wrong password for {self.kind} '{info.alias}' ({info.address})."
            ) from None
        account: LocalAccount = Account.from_key(key)
        logger.info(
            "key unlocked", extra=kv(kind=self.kind, alias=info.alias, address=account.address)
        )
        return account

    def check_password(self, name: str, password: str) -> bool:
        try:
            self.unlock(name, password)
        except WrongPasswordError:
            return False
        return True

    # -- writing ---------------------------------------------------------------------------

    def check_new_alias(self, alias: str) -> None:
        """Refuse an alias that is invalid or taken, before any password is asked.

        Raises:
            InvalidPrivateKeyError: not a valid alias.
            AccountExistsError: a keystore with that alias exists.
        """
        if not ALIAS_RE.match(alias):
            raise InvalidPrivateKeyError(
                f"'{alias}' is not a valid alias: use letters, digits, '.', '_' or '-'."
            )
        path = self.folder / f"{alias}.json"
        if path.exists():
            raise AccountExistsError(f"{self.kind} '{alias}' already exists at {path}.")

    def check_private_key(self, private_key: str) -> None:
        """Refuse a key that does not parse or is stored already, before any password.

        Raises:
            InvalidPrivateKeyError / AccountExistsError.
        """
        account = _parse_key(private_key)
        for info in self.entries():
            if info.address == account.address:
                raise AccountExistsError(
                    f"{self.kind} {account.address} is already stored as '{info.alias}'."
                )

    def create(self, alias: str, password: str) -> KeyInfo:
        """Generate a fresh random key and store it encrypted."""
        account: LocalAccount = Account.create()
        return self._write(alias, account, password)

    def import_key(self, alias: str, private_key: str, password: str) -> KeyInfo:
        """Store an existing private key (hex, with or without 0x) encrypted."""
        return self._write(alias, _parse_key(private_key), password)

    def _write(self, alias: str, account: LocalAccount, password: str) -> KeyInfo:
        if not ALIAS_RE.match(alias):
            raise InvalidPrivateKeyError(
                f"'{alias}' is not a valid alias: use letters, digits, '.', '_' or '-'."
            )
        path = self.folder / f"{alias}.json"
        if path.exists():
            raise AccountExistsError(f"{self.kind} '{alias}' already exists at {path}.")
        for info in self.entries():
            if info.address == account.address:
                raise AccountExistsError(
                    f"{self.kind} {account.address} is already stored as '{info.alias}'."
                )
        keyfile: dict[str, Any] = Account.encrypt(
            account.key, password, kdf="scrypt", iterations=self.scrypt_n
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keyfile, handle)
        tmp.replace(path)
        logger.info(
            "key stored",
            extra=kv(kind=self.kind, alias=alias, address=account.address, path=str(path)),
        )
        return KeyInfo(alias=alias, address=account.address, path=path)


def _parse_key(private_key: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(private_key.strip())
    except Exception:  # eth-keys raises several types (ValueError, ValidationError...)
        raise InvalidPrivateKeyError(
            "that is not a private key: expected 32 bytes as 64 hex digits."
        ) from None
    return account


def _read_address(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    return str(to_checksum_address(data["address"]))
