"""The demo's outcome: tables, ``demo-output/`` (summary.json, PNG), and the verdict."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from offchain.chain.units import ONE
from offchain.demo.chainlog import ChainLog

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeRow:
    name: str
    node: str
    honest: bool
    samples: int
    accepted: int
    rejected: int
    minted: int  # rewards paid from the pool's escrow (the JSON key kept for readers)
    slashed: int


@dataclass(frozen=True)
class RoundRow:
    round: int
    reports: int
    accepted: int
    rejected: int
    decided: bool | None
    base_loss: float | None
    next_loss: float | None


def eval_losses(verdicts_dir: Path, pool_id: int, round: int) -> tuple[float | None, float | None]:
    path = verdicts_dir / f"{pool_id}-{round}.json"
    if not path.is_file():
        return None, None
    data = json.loads(path.read_text())
    return data.get("base_eval_loss"), data.get("next_eval_loss")


def lora(wei: int) -> str:
    return f"{wei / ONE:,.2f}"


@dataclass
class DemoOutcome:
    nodes: list[NodeRow]
    rounds: list[RoundRow]

    @property
    def first_loss(self) -> float | None:
        return self.rounds[0].base_loss if self.rounds else None

    @property
    def last_loss(self) -> float | None:
        losses = [r.next_loss for r in self.rounds if r.next_loss is not None]
        return losses[-1] if losses else None

    def checks(self) -> dict[str, bool]:
        first, last = self.first_loss, self.last_loss
        return {
            "eval loss improved": first is not None and last is not None and last < first,
            "every honest node was paid": all(n.minted > 0 for n in self.nodes if n.honest),
            "the cheater was slashed": all(
                n.slashed > 0 and n.rejected > 0 for n in self.nodes if not n.honest
            ),
            "no honest node was slashed": all(n.slashed == 0 for n in self.nodes if n.honest),
        }

    @property
    def ok(self) -> bool:
        return all(self.checks().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": [n.__dict__ | {"minted": str(n.minted), "slashed": str(n.slashed)}
                      for n in self.nodes],
            "rounds": [r.__dict__ for r in self.rounds],
            "checks": self.checks(),
            "ok": self.ok,
        }  # fmt: skip

    def print(self, console: Console) -> None:
        nodes = Table(title="nodes", title_justify="left")
        for col in ("provider", "node", "kind", "samples", "accepted", "rejected",
                    "rewards paid (LORA)", "stake slashed (LORA)"):  # fmt: skip
            nodes.add_column(col, justify="right" if col[0] in "sarw" else "left")
        for n in self.nodes:
            nodes.add_row(
                n.name, n.node[:10] + "…", "honest" if n.honest else "[red]cheater[/]",
                str(n.samples), str(n.accepted), str(n.rejected), lora(n.minted), lora(n.slashed),
            )  # fmt: skip
        console.print(nodes)
        rounds = Table(title="rounds", title_justify="left")
        for col in ("round", "reports", "accepted", "rejected", "decided",
                    "base eval loss", "next base eval loss"):  # fmt: skip
            rounds.add_column(col, justify="right")
        for r in self.rounds:
            rounds.add_row(
                str(r.round), str(r.reports), str(r.accepted), str(r.rejected), str(r.decided),
                _f(r.base_loss), _f(r.next_loss),
            )  # fmt: skip
        console.print(rounds)
        for name, passed in self.checks().items():
            console.print(("[green]✔[/] " if passed else "[red]✘[/] ") + name)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def build_outcome(
    log: ChainLog,
    *,
    providers: list[tuple[str, str, str, bool]],  # (name, address, node, honest)
    rounds: int,
    verdicts_dir: Path,
) -> DemoOutcome:
    node_rows = []
    for name, address, node, honest in providers:
        tally = log.nodes[checksum(node)]
        node_rows.append(
            NodeRow(
                name, node, honest, tally.samples, tally.accepted, tally.rejected,
                log.claimed[checksum(address)], tally.slashed,
            )
        )  # fmt: skip
    round_rows = []
    for r in range(rounds):
        base, nxt = eval_losses(verdicts_dir, log.pool_id, r)
        state = log.rounds[r]
        if not state.decided:
            nxt = None  # an undecided round leaves the pool's base adapter unchanged
        round_rows.append(
            RoundRow(r, state.reports, state.accepted, state.rejected, state.decided, base, nxt)
        )
    return DemoOutcome(node_rows, round_rows)


def checksum(address: str) -> str:
    from web3 import Web3

    return str(Web3.to_checksum_address(address))


def write_outputs(outcome: DemoOutcome, out: Path) -> list[Path]:
    """``summary.json``, ``eval_loss.png`` (per round) and ``rewards.png`` (per node)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.json"
    summary.write_text(json.dumps(outcome.as_dict(), indent=2))

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [-1] + [r.round for r in outcome.rounds]
    ys = [outcome.first_loss] + [r.next_loss for r in outcome.rounds]
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    ax1.plot([p[0] for p in points], [p[1] for p in points], marker="o")
    ax1.set_xticks(
        [p[0] for p in points], ["start" if p[0] < 0 else f"after {p[0]}" for p in points]
    )
    ax1.set_title("held-out eval loss of the pool's base adapter")
    ax1.set_ylabel("loss per token")
    names = [n.name + ("" if n.honest else " (cheater)") for n in outcome.nodes]
    ax2.bar(names, [n.minted / ONE for n in outcome.nodes], color="tab:green", label="paid")
    ax2.bar(names, [-n.slashed / ONE for n in outcome.nodes], color="tab:red", label="slashed")
    ax2.axhline(0, color="black", linewidth=0.5)
    ax2.set_title("rewards paid / stake slashed per provider (LORA)")
    ax2.legend()
    ax2.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    png = out / "demo.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return [summary, png]
