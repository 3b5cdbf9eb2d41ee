"""Amounts in LORA, revert decoding by selector and the sentences built from it."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from offchain.chain.messages import describe
from offchain.chain.revert import DecodedError, ErrorDecoder
from offchain.chain.units import InvalidAmountError, format_lora, parse_amount

LORA = 10**18
ALICE = to_checksum_address("0x" + "ab" * 20)


def encoded(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


@pytest.mark.parametrize(
    ("text", "wei"),
    [("2500", 2500 * LORA), ("2,500", 2500 * LORA), ("0.5", LORA // 2), ("1 LORA", LORA)],
)
def test_parse_amount(text: str, wei: int) -> None:
    assert parse_amount(text) == wei


@pytest.mark.parametrize("text", ["-1", "abc", "1e-19", "nan"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(InvalidAmountError):
        parse_amount(text)


@pytest.mark.parametrize(
    ("wei", "text"),
    [(1000 * LORA, "1,000 LORA"), (LORA // 2, "0.5 LORA"), (0, "0 LORA"), (1, "<0.0001 LORA")],
)
def test_format_lora(wei: int, text: str) -> None:
    assert format_lora(wei) == text


def test_decoder_knows_every_exported_error() -> None:
    decoder = ErrorDecoder.from_exported()
    data = encoded(
        "ERC20InsufficientBalance(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        [ALICE, 5 * LORA, 7 * LORA],
    )
    error = decoder.decode("0x" + data.hex())
    assert error is not None
    assert error.name == "ERC20InsufficientBalance"
    assert error.args["balance"] == 5 * LORA
    assert describe(error) == (f"insufficient balance: {ALICE} holds 5 LORA but 7 LORA is needed.")


def test_decoder_builtin_and_unknown() -> None:
    decoder = ErrorDecoder({})
    error = decoder.decode(encoded("Error(string)", ["string"], ["nope"]))
    assert error == DecodedError("Error", {"message": "nope"})
    assert describe(error) == "the contract refused: nope."
    panic = decoder.decode(encoded("Panic(uint256)", ["uint256"], [0x11]))
    assert panic is not None
    assert describe(panic) == "the contract failed with an arithmetic overflow or underflow."
    assert decoder.decode(b"\x12\x34\x56\x78") is None
    assert decoder.decode(None) is None


def test_custom_error_sentence_with_context() -> None:
    """The hub's minimum-stake error, from the exported ABIs, with the units of the call."""
    data = encoded(
        "NetworkHubInsufficientStake(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        [ALICE, 1000 * LORA, 2500 * LORA],
    )
    error = ErrorDecoder.from_exported().decode(data)
    assert error is not None
    assert error.name == "NetworkHubInsufficientStake"
    assert describe(error, {"units": 30}) == (
        "stake 1,000 LORA is below the minimum 2,500 LORA for 30 compute units."
    )
    assert describe(error) == "stake 1,000 LORA is below the minimum 2,500 LORA."


# Errors the provider commands can meet (hub path). Each must exist in the exported ABIs (a
# rename is caught here) and have a template. Errors added elsewhere fall back to a generic
# sentence until they get a template.
PROVIDER_ERRORS = [
    "NetworkHubInsufficientStake",
    "NetworkHubNotNodeOwner",
    "NetworkHubNodeNotEligible",
    "NetworkHubNodeInActivePool",
    "StakeManagerZeroAmount",
    "StakeManagerInsufficientStake",
    "StakeManagerTooManyUnbonds",
    "StakeManagerNothingToWithdraw",
    "ComputeRegistryAlreadyRegistered",
    "ComputeRegistryNotRegistered",
    "ComputeRegistryProviderBlacklisted",
    "ComputeRegistryNodeBlacklisted",
    "ComputeRegistryNodeExists",
    "ComputeRegistryNotNodeOwner",
    "ComputeRegistryInvalidNode",
    "ComputeRegistryExpiredSignature",
    "ComputeRegistryInvalidSignature",
    "ComputePoolUnknownPool",
    "ComputePoolWrongStatus",
    "ComputePoolFull",
    "ComputePoolNodeBlacklisted",
    "ComputePoolAlreadyMember",
    "ComputePoolNotMember",
    "ComputePoolInsufficientComputeUnits",
    "ComputePoolExpiredSignature",
    "ComputePoolInvalidSignature",
    "WorkLedgerNothingToClaim",
    "WorkLedgerPoolNotEnded",
    "NetworkHubUnbondingTooShort",
    "ComputeRegistryHasNodes",
    "EnforcedPause",
    "ERC20InsufficientBalance",
    "ERC20InsufficientAllowance",
]


def test_provider_errors_exist_and_have_templates() -> None:
    from offchain.abi import all_abis
    from offchain.chain.messages import TEMPLATES
    from offchain.chain.revert import error_specs

    known = {spec.name for abi in all_abis().values() for spec in error_specs(abi)}
    assert not [name for name in PROVIDER_ERRORS if name not in known], "renamed in contracts?"
    assert not [name for name in PROVIDER_ERRORS if name not in TEMPLATES]


def test_unknown_template_falls_back_to_name_and_args() -> None:
    error = DecodedError("SomethingOdd", {"x": 1})
    assert describe(error) == "the contract refused the call with SomethingOdd(x=1)."
