"""Measure the gas of every user-facing call of one training round and write ``docs/gas.md``.

    ape run gas_report --network ethereum:local:foundry

Deploys the protocol with ``deploy_all`` on the local chain (anvil), then runs the flow
register (with permit) -> add node -> validate -> create/start pool -> join -> submit report ->
attest -> finalize -> claim -> unbond -> withdraw with two providers and four nodes, and records
``gas_used`` of each receipt. "first" is the first call of its kind on a fresh chain (cold
storage: new balances, new counters); "next" is a later call of the same kind, which is what a
provider pays in steady state.
"""

import datetime as dt
import importlib.util
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from eth_account import Account
from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
TOKEN = 10**18
DEADLINE = 2**63
ZERO = b"\x00" * 32

#: call -> (target from issue 4, Prime Intellect's figure on anvil from issue 4)
TARGETS: dict[str, tuple[int | None, str]] = {
    "registerProvider (permit + stake + register)": (165_000, "234k"),
    "addNode": (200_000, "288k (addComputeNode)"),
    "joinPool": (200_000, "322k (joinComputePool)"),
    "submitReport": (120_000, "235k-303k (submitWork)"),
    "claim": (80_000, "87k (claimRewards)"),
}


#: The figures of `docs/gas.md` before protocol v2 (issue 19; commit 35f09a9, the same flow):
#: call -> (first, next). Every call must stay at or below them (tests/contracts/test_gas.py);
#: `createPool` now also escrows the pool's budget, so its ceiling applies to a pool created
#: without a budget (see `create_pool_without_escrow`).
BEFORE_V2: dict[str, tuple[int, int | None]] = {
    "registerProvider (permit + stake + register)": (161_286, 144_186),
    "addNode": (102_292, 102_292),
    "setNodeValidated (validator)": (36_567, 36_567),
    "createPool (no budget: no escrow)": (187_205, None),
    "startPool (pool creator)": (46_533, None),
    "joinPool": (145_800, 145_800),
    "submitReport": (109_970, 92_894),
    "attest (validator)": (105_052, 137_493),
    "finalize (4 reports, all accepted)": (223_589, 172_301),
    "claim": (78_759, 78_759),
    "leavePool": (45_567, None),
    "removeNode": (43_295, None),
    "unbond": (75_400, 75_400),
    "withdraw": (83_888, 66_788),
}
#: What v2 adds to a first `createPool` without a budget, from the call's trace: the pause
#: flag (a cold slot read: it lives with the stake parameters, which every pausable provider
#: call reads) and the calldata of the five new arguments (budget and permit; zero bytes at 4
#: gas). The verdict-span rule and the record of the longest submission window cost next to
#: nothing: the hub reads the period and the longest challenge window from the slot of the
#: pools' address, which it reads anyway, and the pool records the window in its counter's
#: slot, which it writes anyway.
V2_CREATE_POOL_CHECKS: dict[str, int] = {
    "pause flag (cold SLOAD)": 2_100,
    "calldata of the new arguments (5 zero words)": 640,
}
CREATE_POOL = "createPool (pool creator, escrows the budget)"
CREATE_POOL_NO_ESCROW = "createPool (no budget: no escrow)"

POOL_PARAMS = (
    1, keccak(text="model"), "hf://model", keccak(text="data"), "file:///data",
    "ipfs://peers", 600, 300, 1_000 * TOKEN, 16, 1,
)  # fmt: skip
POOL_BUDGET = 100 * 1_000 * TOKEN  # escrowed by the creator in the same call


def optimizer_runs() -> int:
    """The solc optimizer's `runs` of ape-config.yaml (the figures depend on it)."""
    config = yaml.safe_load((ROOT / "ape-config.yaml").read_text())
    return int(config["solidity"]["optimization_runs"])


def _load_deploy() -> Any:
    spec = importlib.util.spec_from_file_location("loranet_deploy", ROOT / "scripts" / "deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["loranet_deploy"] = module
    spec.loader.exec_module(module)
    return module


def _sign(key: Any, name: str, contract: Any, primary: str, types: list, message: dict) -> bytes:
    domain = {
        "name": name,
        "version": "1",
        "chainId": chain.chain_id,
        "verifyingContract": contract.address,
    }
    signed = Account.sign_typed_data(
        getattr(key, "key", None) or key.private_key,
        domain_data=domain,
        message_types={primary: types},
        message_data=message,
    )
    return bytes(signed.signature)


def _types(spec: str) -> list[dict[str, str]]:
    return [dict(zip(("type", "name"), f.split(), strict=True)) for f in spec.split(",")]


ADD_NODE = _types(
    "address provider,address node,uint32 computeUnits,bytes32 specsHash,uint256 nonce,"
    "uint256 deadline"
)
JOIN_POOL = _types("uint256 poolId,address node,address provider,uint256 nonce,uint256 deadline")
WORK_REPORT = _types(
    "uint256 poolId,uint256 round,address node,bytes32 adapterHash,uint256 samples,uint256 loss,"
    "string artifactUri,uint8 executionMode,bytes32 replayRoot"
)


def run_flow() -> dict[str, list[int]]:
    """Run the flow once on a fresh deployment; call name -> gas of each call, in order."""
    deploy = _load_deploy()
    admin, *others = accounts.test_accounts[:5]
    providers = others[:2]
    validators = others[2:4]
    params = deploy.DeployParams(
        validators=tuple(v.address for v in validators),
        pool_creators=(admin.address,),
        domains=(deploy.DomainSpec(quorum=2, challenge_window=600),),
        dev_admin=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = deploy.deploy_all(
            admin, params, network="gas", out_dir=Path(tmp), force=True, fund=[admin, *providers]
        )
    c = {name: project[name].at(address) for name, address in data["contracts"].items()}
    token, hub, pools, ledger = c["LoraToken"], c["NetworkHub"], c["ComputePool"], c["WorkLedger"]
    registry, stake = c["ComputeRegistry"], c["StakeManager"]
    gas: dict[str, list[int]] = {}

    def record(name: str, receipt: Any) -> Any:
        gas.setdefault(name, []).append(int(receipt.gas_used))
        return receipt

    amount = 2_000 * TOKEN
    for provider in providers:
        nonce = token.nonces(provider)
        sig = _sign(
            provider,
            token.name(),
            token,
            "Permit",
            _types("address owner,address spender,uint256 value,uint256 nonce,uint256 deadline"),
            {
                "owner": provider.address,
                "spender": stake.address,
                "value": amount,
                "nonce": nonce,
                "deadline": DEADLINE,
            },
        )
        v, r, s = sig[64], sig[:32], sig[32:64]
        record(
            "registerProvider (permit + stake + register)",
            hub.registerProvider(amount, DEADLINE, v, r, s, sender=provider),
        )

    nodes = [Account.from_key(keccak(text=f"gas-node-{i}")) for i in range(4)]
    owner_of = {0: providers[0], 1: providers[0], 2: providers[1], 3: providers[1]}
    for i, key in enumerate(nodes):
        provider = owner_of[i]
        message = {
            "provider": provider.address,
            "node": key.address,
            "computeUnits": 10,
            "specsHash": keccak(text="specs"),
            "nonce": registry.nonces(key.address),
            "deadline": DEADLINE,
        }
        sig = _sign(key, "loranet ComputeRegistry", registry, "AddNode", ADD_NODE, message)
        record(
            "addNode",
            hub.addNode(key.address, 10, message["specsHash"], DEADLINE, sig, sender=provider),
        )
        record(
            "setNodeValidated (validator)",
            hub.setNodeValidated(key.address, True, sender=validators[0]),
        )

    token.approve(ledger, POOL_BUDGET, sender=admin)
    record(CREATE_POOL, hub.createPool(POOL_PARAMS, POOL_BUDGET, 0, 0, ZERO, ZERO, sender=admin))
    record("startPool (pool creator)", hub.startPool(1, sender=admin))
    for i, key in enumerate(nodes):
        message = {
            "poolId": 1,
            "node": key.address,
            "provider": owner_of[i].address,
            "nonce": pools.nonces(key.address),
            "deadline": DEADLINE,
        }
        sig = _sign(key, "loranet ComputePool", pools, "JoinPool", JOIN_POOL, message)
        record("joinPool", hub.joinPool(1, key.address, DEADLINE, sig, sender=owner_of[i]))

    start = pools.poolOf(1).startTime
    for round_ in (0, 1):
        end = start + (round_ + 1) * 600
        chain.pending_timestamp = end
        for i, key in enumerate(nodes):
            report = (
                1, round_, key.address, keccak(text=f"adapter-{round_}-{i}"), 1_000 + i,
                2_345_678, f"http://node{i}.example:8000/artifacts/{round_}.safetensors",
                i % 3, keccak(text=f"replay-{round_}-{i}"),
            )  # fmt: skip
            names = [t["name"] for t in WORK_REPORT]
            sig = _sign(
                key,
                "loranet WorkLedger",
                ledger,
                "WorkReport",
                WORK_REPORT,
                dict(zip(names, report, strict=True)),
            )
            record("submitReport", ledger.submitReport(report, sig, sender=owner_of[i]))
        chain.pending_timestamp = end + 300
        for v in validators:
            record(
                "attest (validator)",
                ledger.attest(1, round_, 0b1111, keccak(text=f"A{round_ + 1}"), sender=v),
            )
        record("finalize (4 reports, all accepted)", ledger.finalize(1, round_, sender=admin))
        for provider in providers:
            record("claim", ledger.claim(sender=provider))

    record("leavePool", hub.leavePool(nodes[3].address, sender=providers[1]))
    record("removeNode", hub.removeNode(nodes[3].address, sender=providers[1]))
    for provider in providers:
        record("unbond", hub.unbond(100 * TOKEN, sender=provider))
    chain.pending_timestamp = chain.pending_timestamp + params.unbonding_period
    for provider in providers:
        record("withdraw", stake.withdraw(sender=provider))
    return gas


def create_pool_without_escrow() -> int:
    """Gas of the same first `createPool` as `run_flow`'s on a fresh deployment, without a budget:
    the call without the escrow (the difference to `run_flow`'s is what the escrow costs)."""
    deploy = _load_deploy()
    admin = accounts.test_accounts[0]
    params = deploy.DeployParams(
        validators=tuple(v.address for v in accounts.test_accounts[3:5]),
        pool_creators=(admin.address,),
        domains=(deploy.DomainSpec(quorum=2, challenge_window=600),),
        dev_admin=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = deploy.deploy_all(
            admin, params, network="gas-no-escrow", out_dir=Path(tmp), force=True
        )
    hub = project.NetworkHub.at(data["contracts"]["NetworkHub"])
    return int(hub.createPool(POOL_PARAMS, 0, 0, 0, ZERO, ZERO, sender=admin).gas_used)


def worst_finalize(batch: int = 32) -> dict[str, int]:
    """Gas of one ``finalize`` batch of ``batch`` rejected reports whose providers each have a
    full queue of 16 pending unbonds (every slash walks a queue), and of one admin slash that
    walks a full queue vs one that finds nothing: the parts of the worst case per call."""
    deploy = _load_deploy()
    admin, v1, v2, *providers = accounts.test_accounts[:7]
    policy = deploy.DomainSpec(quorum=2, challenge_window=600, slash_bps=10_000)
    params = deploy.DeployParams(
        validators=(v1.address, v2.address),
        pool_creators=(admin.address,),
        domains=(policy,),
        dev_admin=True,
        finalize_batch=batch,
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = deploy.deploy_all(
            admin, params, network="gas-worst", out_dir=Path(tmp), force=True,
            fund=[admin, *providers],
        )  # fmt: skip
    c = {name: project[name].at(address) for name, address in data["contracts"].items()}
    token, hub, pools, ledger = c["LoraToken"], c["NetworkHub"], c["ComputePool"], c["WorkLedger"]
    registry, stake = c["ComputeRegistry"], c["StakeManager"]
    per = batch // len(providers) + 1
    nodes = [Account.from_key(keccak(text=f"worst-node-{i}")) for i in range(batch)]
    owner = {i: providers[i // per] for i in range(batch)}
    for p in providers:
        token.approve(stake, 20_000 * TOKEN, sender=p)
        hub.registerProvider(20_000 * TOKEN, 0, 0, ZERO, ZERO, sender=p)
    for i, key in enumerate(nodes):
        message = {
            "provider": owner[i].address, "node": key.address, "computeUnits": 1,
            "specsHash": ZERO, "nonce": registry.nonces(key.address), "deadline": DEADLINE,
        }  # fmt: skip
        sig = _sign(key, "loranet ComputeRegistry", registry, "AddNode", ADD_NODE, message)
        hub.addNode(key.address, 1, ZERO, DEADLINE, sig, sender=owner[i])
        hub.setNodeValidated(key.address, True, sender=v1)
    pool = (
        1, keccak(text="m"), "hf://m", keccak(text="d"), "file:///d", "{}", 600, 300,
        1_000 * TOKEN, 256, 1,
    )  # fmt: skip
    token.approve(ledger, 10_000 * TOKEN, sender=admin)
    hub.createPool(pool, 10_000 * TOKEN, 0, 0, ZERO, ZERO, sender=admin)
    hub.startPool(1, sender=admin)
    for i, key in enumerate(nodes):
        message = {
            "poolId": 1, "node": key.address, "provider": owner[i].address,
            "nonce": pools.nonces(key.address), "deadline": DEADLINE,
        }  # fmt: skip
        sig = _sign(key, "loranet ComputePool", pools, "JoinPool", JOIN_POOL, message)
        hub.joinPool(1, key.address, DEADLINE, sig, sender=owner[i])
    for p in providers:  # a full queue of immature unbonds each
        for _ in range(16):
            hub.unbond(TOKEN, sender=p)
    start = pools.poolOf(1).startTime
    chain.pending_timestamp = start + 600
    names = [t["name"] for t in WORK_REPORT]
    for key in nodes:
        report = (1, 0, key.address, ZERO, 1_000, 0, "u", 0, ZERO)
        sig = _sign(key, "loranet WorkLedger", ledger, "WorkReport", WORK_REPORT,
                    dict(zip(names, report, strict=True)))  # fmt: skip
        ledger.submitReport(report, sig, sender=admin)
    chain.pending_timestamp = start + 900
    for v in (v1, v2):
        ledger.attest(1, 0, 0, ZERO, sender=v)  # every report rejected
    batch_gas = int(ledger.finalize(1, 0, sender=admin).gas_used)
    # one slash walking a full queue vs one finding an empty account
    fresh = accounts.test_accounts[7]
    token.transfer(fresh, 2_000 * TOKEN, sender=admin)
    token.approve(stake, 2_000 * TOKEN, sender=fresh)
    hub.stake(2_000 * TOKEN, sender=fresh)
    for _ in range(16):
        hub.unbond(TOKEN, sender=fresh)
    walk = int(hub.slash(fresh, 10**9 * TOKEN, ZERO, sender=admin).gas_used)
    empty = int(hub.slash(fresh, TOKEN, ZERO, sender=admin).gas_used)
    return {"batch": batch, "batch_gas": batch_gas, "walk": walk, "empty": empty,
            "walking": len(providers)}  # fmt: skip


def _median(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def within_before_v2(name: str, values: list[int]) -> bool:
    """Whether the calls `values` of kind `name` cost at most the figures before v2 (as the
    table reports them): the first at most the old first, the median of the later ones at most
    the old next, and none above the larger old figure (a later call may open a new round)."""
    first, nxt = BEFORE_V2[name]
    if values[0] > first or max(values) > max(first, nxt or 0):
        return False
    return nxt is None or len(values) < 2 or _median(values[1:]) <= nxt


def _before_v2_text(name: str, values: list[int]) -> str:
    if name == CREATE_POOL:
        return f"{BEFORE_V2[CREATE_POOL_NO_ESCROW][0]:,} (no escrow then)"
    if name not in BEFORE_V2:
        return ""
    first, nxt = BEFORE_V2[name]
    figures = f"{first:,}" if nxt is None else f"{first:,} / {nxt:,}"
    return f"{figures} ({'ok' if within_before_v2(name, values) else '**over**'})"


def render(
    gas: dict[str, list[int]],
    worst_case: dict[str, int] | None = None,
    no_escrow: int | None = None,
) -> str:
    """The text of docs/gas.md; `no_escrow` is `create_pool_without_escrow()`'s figure."""
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = _cpu()
    runs = optimizer_runs()
    rows = dict(gas)
    if no_escrow is not None:  # the row goes right below the createPool of the flow
        rows = {}
        for name, values in gas.items():
            rows[name] = values
            if name == CREATE_POOL:
                rows[CREATE_POOL_NO_ESCROW] = [no_escrow]
    lines = [
        "# Gas of loranet's user-facing calls",
        "",
        "Measured by `scripts/gas_report.py`",
        "(`ape run gas_report --network ethereum:local:foundry`) on anvil (local Ape network),",
        f"{today}, {cpu} ({os.cpu_count()} CPUs), Python {platform.python_version()},",
        f"solc 0.8.37 (solc-js), optimizer {runs} runs, EVM cancun.",
        "",
        "The flow: two providers register (ERC-2612 permit + stake + register in one",
        "transaction), add four nodes, a validator validates them, a pool is created (its",
        "budget escrowed, the allowance given beforehand) and started, the nodes join, then two",
        "rounds of four signed reports, two validator attestations (quorum 2), finalize and two",
        "claims; then leave, remove, unbond and withdraw. *first* is the first call of its kind",
        "on the fresh chain (new storage slots, e.g. the first stake into an empty stake manager",
        "or the first report of a round); *next* is the median of the later ones: what a",
        "provider pays in steady state. *createPool (no budget: no escrow)* is the same first",
        "`createPool` on a second fresh deployment with a budget of 0 (nothing to escrow).",
        "*before v2* are the figures of this file before protocol v2 (issue 19), same flow;",
        '"ok" there means every measured call of that kind is at or below them',
        "(`tests/contracts/test_gas.py` checks it).",
        "",
        "| call | first | next (median) | before v2 (issue 19) | target (issue 4) |"
        " Prime Intellect (issue 4) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, values in rows.items():
        first = values[0]
        nxt = f"{_median(values[1:]):,}" if len(values) > 1 else "-"
        target, prime = TARGETS.get(name, (None, ""))
        if target is None:
            target_text = ""
        else:
            worst = max(values)
            mark = "ok" if worst <= target else "**over**"
            target_text = f"{target // 1000}k ({mark})"
        before = _before_v2_text(name, values)
        lines.append(f"| {name} | {first:,} | {nxt} | {before} | {target_text} | {prime} |")
    lines += [
        "",
        '"ok" under the target means every measured call of that kind is within it. A report',
        "stores one slot (node, samples, mode) and updates the node's per-pool slot (last round",
        "reported, provider), which `joinPool` already created; the first report of a round",
        "also creates the round's counter slot (the *first* column). The adapter hash, loss,",
        "artifact URI and replay root live only in the `ReportSubmitted` event and in the signed",
        "EIP-712 digest; each further 32 bytes of artifact URI cost about 800 gas (calldata and",
        "log). The second attestation of a round costs more than the first because it reaches",
        "the quorum and records the outcome. Finalization loops over the round's reports (at",
        "most 256), so its cost grows with the report count (about 10-25k per report).",
        "",
        "A claim transfers LORA from the work ledger (pools' escrows) and no longer mints, so",
        "it writes no total-supply checkpoint (32k less than before). A claim by an address",
        "that holds no LORA yet costs about 17k more (a new balance slot).",
        "",
        "`withdraw` is called on the stake manager itself (not through the hub) and no longer",
        "keeps a running total of withdrawals (the `Withdrawn` events have it): at most Prime",
        "Intellect's 57k (issue 19; it was 84k first / 67k).",
        "",
    ]
    if no_escrow is not None and CREATE_POOL in gas:
        escrow = gas[CREATE_POOL][0] - no_escrow
        before = BEFORE_V2[CREATE_POOL_NO_ESCROW][0]
        checks = sum(V2_CREATE_POOL_CHECKS.values())
        lines += [
            "`createPool` now also escrows the pool's budget in the work ledger. The escrow costs",
            f"**{escrow:,} gas** of the first `createPool` ({gas[CREATE_POOL][0]:,} with the",
            f"budget, {no_escrow:,} without): the hub's call into the ledger, the pool's new",
            "escrow slot and its `PoolFunded` event, and the token's `transferFrom` (the",
            "allowance, the creator's balance and the ledger's first balance slot: new storage on",
            "the first pool), net of the refund for the allowance spent to zero (the flow approves",
            "exactly the budget). With an ERC-2612 permit in the same call instead of an earlier",
            "`approve`, the token's `permit` comes on top. Without a budget the hub skips the",
            "ledger entirely. That call costs "
            + (
                f"{before - no_escrow:,} less than before v2"
                if no_escrow <= before
                else f"**{no_escrow - before:,} more** than before v2"
            ),
            f"({before:,}, without an escrow then), though v2's new checks and arguments add",
            f"{checks:,} to it (from the call's trace):",
            "",
            *(f"- {what}: {cost:,}" for what, cost in V2_CREATE_POOL_CHECKS.items()),
            "",
            "The verdict-span rule costs no storage access: the hub checks it for every pool",
            "(a window no longer than the longest so far passes anyway) with the unbonding",
            "period and the longest challenge window, which share the slot of the pools' address",
            "that the call reads anyway, and the compute pool records the longest submission",
            "window next to its pool counter, in the one write of that slot the call makes",
            "anyway. The hub checks the pool's domain against its copy of the domain registry's",
            "domain count (in the same slot; copied at `wire` and on every `createDomain`, the",
            "only way to add a domain), where the compute pool called the registry before (a",
            "cold account, a cold slot and the call). Each pool slot is written once, and the",
            "unbonding period is copied in the hub (no call to the stake manager).",
            f"`tests/contracts/test_gas.py` holds the call to {before:,}.",
            "",
        ]
    lines += [
        "How every other call stays at or below its figure before v2, with v2's new checks (the",
        "pause flag, the verdict-span rule, the escrow, batched finalization): the optimizer",
        f"runs for {runs} executions instead of 200 (solc then splits the longer function tables",
        "of the hub and the modules into a deeper binary search: fewer selector comparisons;",
        "the bytecode grows, so a deployment costs more once, and every contract stays below",
        "the 24,576-byte limit of EIP-170, which `tests/contracts/test_deploy.py` checks); the",
        "hub's pause flag (`PackedPausable`, OpenZeppelin's `Pausable` with the same errors and",
        "events) shares the slot of the stake parameters, which the pausable provider calls read",
        "in the same SLOAD; `stakeFor` returns the new stake (registration makes one call less);",
        "the work ledger reads a round's deadline, domain and reward with one call",
        "(`ComputePool.roundContext`: two pool slots, where `roundWindow` + `poolOf` read six),",
        "about 10k less for `attest` and `finalize`; `finalize` writes the round's slot once,",
        "`createPool` each pool slot once and `setNodeValidated` reads the node's slot once.",
        "",
        "Prime Intellect's figures are those quoted in issue 4 (their contracts on anvil); ours",
        "check more per call (EIP-712 node signatures with nonces, the minimum-stake rule, the",
        "report window) and still cost less.",
        "",
    ]
    if worst_case:
        extra = worst_case["walk"] - worst_case["empty"]
        bound = worst_case["batch_gas"] + (worst_case["batch"] - worst_case["walking"]) * extra
        lines += [
            "## Worst case of one `finalize` call (issue 19, item 5)",
            "",
            f"`finalize` settles at most `finalizeBatch` = {worst_case['batch']} reports per call.",
            f"Measured: one batch of {worst_case['batch']} rejected reports (each a slash and an",
            f"ejection; {worst_case['walking']} of the slashes walk a full 16-entry unbond queue,",
            "the others find the stake already gone): "
            f"**{worst_case['batch_gas']:,} gas**. An admin slash that walks a full queue",
            f"costs {worst_case['walk']:,}, one that finds nothing {worst_case['empty']:,}: if",
            "every slash of the batch walked a full queue the call would cost at most about",
            f"**{bound:,} gas**, far below a 30M block (the weight scan over",
            "all 256 reports of a round adds about 256 x 2.2k = 0.6M). The old single-call",
            "finalize of 256 rejected reports needed ~86k each (22M+, more with queues) and",
            "could exceed a block; a round is now finalized by ceil(reports / batch) calls.",
            "",
        ]
    return "\n".join(lines)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=ROOT / "docs" / "gas.md",
    show_default=True,
)
def cli(out: Path) -> None:
    """Measure gas of the register -> ... -> claim flow and write docs/gas.md."""
    gas = run_flow()
    text = render(gas, worst_finalize(), create_pool_without_escrow())
    out.write_text(text)
    click.echo(text)
