"""Encrypted keystores for provider accounts and node keys.

    store     ``Keystore``: one folder of ``<alias>.json`` files (eth-account scrypt JSON, the
              layout of Ape's ``~/.ape/accounts``, so ``ape accounts list`` reads ours too)

Provider accounts live in ``Settings.keystore_dir``; node keys, which only sign EIP-712
messages, live in a separate folder (``Settings.resolved_node_keystore_dir``). A private key
is only ever held in memory, never written in plain text or logged.
"""

from offchain.keys.store import (
    AccountExistsError,
    InvalidPrivateKeyError,
    KeyInfo,
    Keystore,
    UnknownAccountError,
    WrongPasswordError,
)

__all__ = [
    "AccountExistsError",
    "InvalidPrivateKeyError",
    "KeyInfo",
    "Keystore",
    "UnknownAccountError",
    "WrongPasswordError",
]
