"""The CLI's one error path without a chain: settings, amounts, addresses, passwords, usage.

Every refusal is one sentence and a documented exit code (usage 2, refusal 1); with ``--json``
it is one JSON document on stdout, ``{"error": {"code", "message", "exit_code"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from offchain.chain.units import InvalidAmountError, format_lora, parse_amount
from offchain.cli.context import WeakPasswordError, check_password_strength
from offchain.settings import SettingsError, load_settings

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def json_error(result: Result) -> dict[str, object]:
    document = json.loads(result.stdout)
    assert set(document) == {"error"}, document
    error: dict[str, object] = document["error"]
    assert {"code", "message", "exit_code"} <= set(error)
    assert error["exit_code"] == result.exit_code
    return error


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("127.0.0.1:8545", "has no scheme: write http://127.0.0.1:8545"),
        ("localhost:8545", "has no scheme: write http://localhost:8545"),
        ("notaurl", "'notaurl' is not an http(s) URL"),
        ("ftp://example.org", "is not an http(s) URL"),
        ("http://127.0.0.1:99999", "is not a URL"),
        ("http://", "is not a URL with a host"),
    ],
)
def test_rpc_url_is_checked_as_a_flag_and_as_a_variable(
    run_cli: Run,
    assert_refusal: Refusal,
    loranet_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    sentence: str,
) -> None:
    assert_refusal(run_cli("--rpc-url", url, "status"), sentence)
    monkeypatch.setenv("LORANET_RPC_URL", url)
    assert_refusal(run_cli("status"), f"invalid setting rpc_url: '{url}'")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("- 1\n- 2\n", "must be a mapping of settings (key: value), not a list"),
        ("network: [\n", "is not valid YAML (line 2)"),
        ("netwrk: sepolia\n", "unknown setting 'netwrk' in the config file"),
        ("42\n", "not a single value"),
        ("confirmations: zero\n", "invalid setting confirmations"),
    ],
)
def test_config_file_is_a_mapping_of_known_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, sentence: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LORANET_CONFIRMATIONS", raising=False)
    config = tmp_path / "loranet.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert sentence in str(caught.value)


def test_unknown_config_key_suggests_the_close_one(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("rpc-url: http://x\n")
    with pytest.raises(SettingsError, match=r"did you mean 'rpc_url'\?"):
        load_settings(config)


def test_json_errors_are_a_document_on_stdout(
    run_cli: Run, loranet_env: Path, tmp_path: Path
) -> None:
    config = tmp_path / "list.yaml"
    config.write_text("[1, 2]\n")
    refused = run_cli("--config", str(config), "status", "--json")
    assert refused.exit_code == 1
    error = json_error(refused)
    assert error["code"] == "settings"
    assert "must be a mapping" in str(error["message"])

    usage = run_cli("stake", "add", "--json")  # missing argument
    assert usage.exit_code == 2
    assert json_error(usage)["code"] == "usage"

    unknown = run_cli("--json", "stake", "add", "5", "--bogus")
    assert unknown.exit_code == 2
    assert "--bogus" in str(json_error(unknown)["message"])


def test_negative_amount_is_a_sentence_not_no_such_option(run_cli: Run, loranet_env: Path) -> None:
    result = run_cli("stake", "add", "-5")
    assert result.exit_code == 2
    assert "'-5' is not an option: amounts and numbers must be positive" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e999999999", "far more LORA than can exist"),
        ("1e78", "far more LORA than can exist"),
        ("0.0000000000000000001", "more than 18 decimals"),
        ("-1", "not a positive amount"),
        ("nan", "not a positive amount"),
        ("12abc", "is not an amount of LORA"),
    ],
)
def test_amounts_are_refused_in_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InvalidAmountError, match=message):
        parse_amount(text)


def test_huge_amounts_format_exactly() -> None:
    assert format_lora(parse_amount("1e30")) == "1,000,000,000,000,000,000,000,000,000,000 LORA"
    assert format_lora(2**256 - 1).endswith(" LORA")


def test_devnet_fund_refuses_a_short_address(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path
) -> None:
    assert_refusal(run_cli("devnet", "fund", "0x123"), "'0x123' is not a valid account address")


@pytest.mark.parametrize("weak", ["a", "1234567", "aaaaaaaaaaa", "abababab", "password"])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(WeakPasswordError, match="at least 8 characters"):
        check_password_strength(weak)


def test_new_account_with_a_weak_password_is_refused_before_writing(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORANET_PASSWORD", "a")
    assert_refusal(run_cli("account", "new", "weak"), "the password is too short (1 characters)")
    assert "no accounts" in run_cli("account", "list", ok=True).output


def test_no_terminal_and_no_password_says_what_to_set(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LORANET_PASSWORD")
    result = run_cli("account", "new", "alice")  # stdin empty: no terminal, nothing piped
    assert_refusal(result, "there is no terminal to ask: set LORANET_PASSWORD")
    assert "GetPassWarning" not in result.output


def test_alias_is_checked_before_the_password(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LORANET_PASSWORD")
    assert_refusal(run_cli("account", "new", "../x"), "'../x' is not a valid alias")
    assert_refusal(
        run_cli("node", "import", "gpu-0", input="0x1234\n"), "that is not a private key"
    )


def test_ctrl_c_exits_130_with_a_word(
    run_cli: Run, loranet_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.delenv("LORANET_PASSWORD")
    monkeypatch.setattr("offchain.cli.context.read_secret", interrupted)
    result = run_cli("account", "new", "alice")
    assert result.exit_code == 130
    assert "interrupted." in result.output and "Traceback" not in result.output
    as_json = run_cli("account", "new", "alice", "--json")
    assert json.loads(as_json.stdout)["error"]["code"] == "interrupted"


def test_weak_password_on_stdin_is_refused_before_writing(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LORANET_PASSWORD")
    assert_refusal(run_cli("node", "keygen", "gpu-0", input="abc\nabc\n"), "too short")
    assert_refusal(
        run_cli("node", "keygen", "gpu-0", input="long enough words\nother words here\n"),
        "the two entries do not match.",
    )
    run_cli("node", "keygen", "gpu-0", input="long enough words\nlong enough words\n", ok=True)
