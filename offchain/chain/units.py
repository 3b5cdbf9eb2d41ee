"""Token amounts: ``Wei`` integers on chain, LORA (18 decimals) for people."""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import NewType

from offchain.errors import LoranetError

Wei = NewType("Wei", int)

DECIMALS = 18
ONE = 10**DECIMALS
SYMBOL = "LORA"
MAX_WEI = 2**256 - 1  # a uint256 on chain


class InvalidAmountError(LoranetError):
    """An amount typed by the user is not a valid token amount."""


def parse_amount(text: str | int | Decimal, *, symbol: str = SYMBOL) -> Wei:
    """``"2,500"`` / ``"0.5"`` / ``2500`` (whole tokens) → wei. Rejects negatives and dust."""
    raw = str(text).replace(",", "").replace("_", "").strip()
    raw = raw.removesuffix(symbol).strip()
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise InvalidAmountError(f"'{text}' is not an amount of {symbol}.") from None
    if not value.is_finite() or value < 0:
        raise InvalidAmountError(f"'{text}' is not a positive amount of {symbol}.")
    if value.adjusted() > 78:  # far above any uint256 amount: refuse before scaling
        raise InvalidAmountError(f"'{text}' is far more {symbol} than can exist.")
    try:
        with localcontext(Context(prec=120)):
            wei = value.scaleb(DECIMALS)
            whole = wei == wei.to_integral_value()
    except ArithmeticError:
        raise InvalidAmountError(f"'{text}' is not an amount of {symbol}.") from None
    if not whole:
        raise InvalidAmountError(f"'{text}' has more than {DECIMALS} decimals.")
    if int(wei) > MAX_WEI:
        raise InvalidAmountError(f"'{text}' is far more {symbol} than can exist.")
    return Wei(int(wei))


def format_amount(wei: int, *, symbol: str = SYMBOL, places: int = 4) -> str:
    """wei → ``"1,000 LORA"`` / ``"0.5 LORA"`` (at most ``places`` decimals, rounded down)."""
    with localcontext(Context(prec=120)):  # exact for any uint256 (78 digits) and decimals
        value = (Decimal(wei) / ONE).quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN")
        text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "0" and wei > 0:
        text = f"<{Decimal(1).scaleb(-places)}"
    return f"{text} {symbol}"


def format_lora(wei: int) -> str:
    return format_amount(wei, symbol=SYMBOL)


def format_eth(wei: int) -> str:
    return format_amount(wei, symbol="ETH", places=6)
