"""Keystores: encrypted on disk, never plain; readable by Ape; readable errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from ape_accounts.accounts import InvalidPasswordError, KeyfileAccount

from offchain.devnet import dev_account
from offchain.keys import (
    AccountExistsError,
    InvalidPrivateKeyError,
    Keystore,
    UnknownAccountError,
    WrongPasswordError,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore(tmp_path: Path, scrypt_n: int) -> Keystore:
    return Keystore(tmp_path / "keys", scrypt_n=scrypt_n)


def test_create_list_unlock(keystore: Keystore) -> None:
    info = keystore.create("alice", PASSWORD)
    assert [(i.alias, i.address) for i in keystore.entries()] == [("alice", info.address)]
    assert keystore.unlock("alice", PASSWORD).address == info.address
    assert keystore.unlock(info.address.lower(), PASSWORD).address == info.address


def test_file_is_encrypted_and_private(keystore: Keystore) -> None:
    key = dev_account(7).key
    info = keystore.import_key("bob", key.hex(), PASSWORD)
    text = info.path.read_text()
    assert key.hex().removeprefix("0x") not in text
    data = json.loads(text)
    assert data["crypto"]["kdf"] == "scrypt"
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600


def test_ape_reads_our_keystore(keystore: Keystore) -> None:
    info = keystore.create("carol", PASSWORD)
    ape_account = KeyfileAccount(keyfile_path=info.path)
    assert ape_account.alias == "carol"
    assert ape_account.address == info.address
    ape_account.unlock(passphrase=PASSWORD)
    assert not ape_account.locked
    with pytest.raises(InvalidPasswordError):
        KeyfileAccount(keyfile_path=info.path).unlock(passphrase="wrong")


def test_wrong_password(keystore: Keystore) -> None:
    info = keystore.create("alice", PASSWORD)
    with pytest.raises(
        WrongPasswordError, match=f"wrong password for account 'alice' \\({info.address}\\)"
    ):
        keystore.unlock("alice", "nope")


def test_unknown_account(keystore: Keystore) -> None:
    keystore.create("alice", PASSWORD)
    with pytest.raises(UnknownAccountError, match=r"unknown account 'mallory' .*\(known: alice\)"):
        keystore.unlock("mallory", PASSWORD)


def test_duplicates_are_refused(keystore: Keystore) -> None:
    key = dev_account(8).key.hex()
    keystore.import_key("dave", key, PASSWORD)
    with pytest.raises(AccountExistsError, match="account 'dave' already exists"):
        keystore.create("dave", PASSWORD)
    with pytest.raises(AccountExistsError, match="already stored as 'dave'"):
        keystore.import_key("dave2", key, PASSWORD)


def test_bad_key_and_alias(keystore: Keystore) -> None:
    with pytest.raises(InvalidPrivateKeyError, match="not a private key"):
        keystore.import_key("x", "0x1234", PASSWORD)
    with pytest.raises(InvalidPrivateKeyError, match="not a valid alias"):
        keystore.create("../escape", PASSWORD)
