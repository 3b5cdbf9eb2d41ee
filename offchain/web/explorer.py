"""The explorer's pages, computed from the read model's events (plain dicts for JSON).

Every figure is a fold over facts (see :mod:`offchain.web.readmodel`): a provider's stake is
``Σ Staked - Σ UnbondRequested - Σ Slashed.fromStake``, a pool's status its latest lifecycle
event, a report's verdict its ``RewardAccrued`` or ``ReportRejected``. Token amounts go out
as decimal strings of wei plus the CLI's LORA formatting (``format_lora``), so the browser
never does uint256 arithmetic in floats.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from offchain.abi import load_abi
from offchain.chain.units import format_lora
from offchain.web.readmodel import ReadModel, Row

logger = logging.getLogger(__name__)

LOSS_SCALE = 1_000_000  # WorkReport.loss is fixed point (offchain.worker.round_work.LOSS_SCALE)
ZERO = "0x" + "00" * 20
MODES = {0: "local GPU", 1: "custom", 2: "remote API"}
MAX_PER_PAGE = 200
CACHE_TTL_S = 5.0
CACHE_ENTRIES = 256


class NotFound(LookupError):
    """The asked-for pool, round, provider or node is not in the index."""


def lora(wei: int) -> dict[str, str]:
    return {"wei": str(int(wei)), "lora": format_lora(int(wei))}


def _loss(raw: int) -> float:
    return int(raw) / LOSS_SCALE


def _ev(row: Row) -> dict[str, Any]:
    """An event for the activity feed: its identity, kind and JSON-safe arguments."""
    args = {
        k: (str(v) if isinstance(v, int) and abs(v) > 2**53 else v) for k, v in row.args.items()
    }
    return {
        "block": row.block,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
        "contract": row.contract,
        "event": row.event,
        "args": args,
    }


def _param_names() -> list[str]:
    """Field names of ``PoolCreated.params`` from the exported ABI (robust to new fields)."""
    for entry in load_abi("ComputePool"):
        if entry.get("type") == "event" and entry.get("name") == "PoolCreated":
            for inp in entry["inputs"]:
                if inp["name"] == "params":
                    return [str(c["name"]) for c in inp.get("components", [])]
    return []


def paginate(total: int, page: int, per_page: int) -> dict[str, int]:
    per_page = max(1, min(MAX_PER_PAGE, per_page))
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(page, pages))
    return {"page": page, "per_page": per_page, "pages": pages, "total": total}


@dataclass
class _Account:
    """A provider's position, folded from its events."""

    address: str
    registered: bool = False
    blacklisted: bool = False
    staked: int = 0
    unbonding: int = 0
    slashed: int = 0
    accrued: int = 0
    claimed: int = 0
    nodes: dict[str, int] = field(default_factory=dict)  # node -> compute units

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "registered": self.registered,
            "blacklisted": self.blacklisted,
            "staked": lora(self.staked),
            "unbonding": lora(self.unbonding),
            "slashed": lora(self.slashed),
            "rewards_accrued": lora(self.accrued),
            "rewards_claimed": lora(self.claimed),
            "rewards_pending": lora(max(0, self.accrued - self.claimed)),
            "node_count": len(self.nodes),
            "compute_units": sum(self.nodes.values()),
        }


ACCOUNT_EVENTS = (
    "ProviderRegistered",
    "ProviderBlacklistSet",
    "Staked",
    "UnbondRequested",
    "Withdrawn",
    "Slashed",
    "RewardAccrued",
    "RewardsClaimed",
    "NodeAdded",
    "NodeRemoved",
)


def _fold_accounts(rows: Iterable[Row]) -> dict[str, _Account]:
    accounts: dict[str, _Account] = {}
    for row in rows:
        who = row.get("provider")
        if not isinstance(who, str):
            continue
        acc = accounts.setdefault(who, _Account(who))
        name = row.event
        if name == "ProviderRegistered":
            acc.registered = True
        elif name == "ProviderBlacklistSet":
            acc.blacklisted = bool(row.get("blacklisted"))
        elif name == "Staked":
            acc.staked += int(row.get("amount", 0))
        elif name == "UnbondRequested":
            acc.staked -= int(row.get("amount", 0))
            acc.unbonding += int(row.get("amount", 0))
        elif name == "Withdrawn":
            acc.unbonding -= int(row.get("amount", 0))
        elif name == "Slashed":
            acc.staked -= int(row.get("fromStake", 0))
            acc.unbonding -= int(row.get("fromUnbonding", 0))
            acc.slashed += int(row.get("amount", 0))
        elif name == "RewardAccrued":
            acc.accrued += int(row.get("reward", 0))
        elif name == "RewardsClaimed":
            acc.claimed += int(row.get("amount", 0))
        elif name == "NodeAdded":
            acc.nodes[str(row.get("node"))] = int(row.get("computeUnits", 0))
        elif name == "NodeRemoved":
            acc.nodes.pop(str(row.get("node")), None)
    return accounts


class Reasons:
    """Rejection reasons per (pool, round, report index), read from validators' stores."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = [Path(p) for p in paths]

    def for_round(self, pool_id: int, round: int) -> dict[int, list[str]]:
        out: dict[int, list[str]] = defaultdict(list)
        for path in self.paths:
            if not path.is_file():
                continue
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
                try:
                    row = db.execute(
                        "SELECT verdict FROM rounds WHERE pool_id=? AND round=?", (pool_id, round)
                    ).fetchone()
                finally:
                    db.close()
            except sqlite3.Error as err:
                logger.info("validator store unreadable: %s (%s)", path, err)
                continue
            if not row or not row[0]:
                continue
            for report in json.loads(row[0]).get("reports", []):
                for reason in report.get("reasons") or []:
                    if reason not in out[int(report["index"])]:
                        out[int(report["index"])].append(str(reason))
        return dict(out)


def artifact_link(
    uri: str, adapter_hash: str, has_local: Callable[[str], bool] | None = None
) -> str | None:
    """Where the browser can fetch an adapter: its own http(s) URI, or the dashboard's
    ``/artifacts/<hash>`` route when a configured artifact folder holds it."""
    if uri.startswith(("http://", "https://")):
        return uri
    if has_local is not None and has_local(adapter_hash):
        return f"/artifacts/{adapter_hash.lower()}"
    return None


class Explorer:
    """Pages of the explorer over one read model."""

    def __init__(
        self,
        model: ReadModel,
        *,
        reasons: Reasons | None = None,
        has_artifact: Callable[[str], bool] | None = None,
        heartbeats: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> None:
        self.model = model
        self.reasons = reasons or Reasons([])
        self._has_artifact = has_artifact
        self._heartbeats = heartbeats
        self._param_names = _param_names()
        self._cache: OrderedDict[tuple[Any, ...], tuple[int, float, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``, reused while the read model is unchanged (and for at most
        ``CACHE_TTL_S``: heartbeats and reasons live outside it). Pages are pure functions
        of the read model, so a hit is exactly what a fresh computation would return."""
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == self.model.version and now - hit[1] < CACHE_TTL_S:
                self._cache.move_to_end(key)
                return hit[2]
        version = self.model.version
        value = compute()
        with self._cache_lock:
            self._cache[key] = (version, now, value)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value

    # -- helpers -----------------------------------------------------------------------------

    def _pool_params(self, row: Row) -> dict[str, Any]:
        values = row.get("params") or []
        params = dict(zip(self._param_names, values, strict=False))
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key == "rewardPerRound":
                out[key] = lora(int(value))
            else:
                out[key] = value
        return out

    def _pool_summaries(self) -> dict[int, dict[str, Any]]:
        pools: dict[int, dict[str, Any]] = {}
        for row in self.model.rows(
            ["PoolCreated", "PoolStarted", "PoolEnded", "PoolMetadataUpdated"]
        ):
            pid = int(row.get("poolId"))
            if row.event == "PoolCreated":
                pools[pid] = {
                    "id": pid,
                    "creator": row.get("creator"),
                    "domain_id": int(row.get("domainId")),
                    "status": "pending",
                    "created_block": row.block,
                    "params": self._pool_params(row),
                }
            elif pid in pools and row.event == "PoolStarted":
                pools[pid]["status"] = "active"
                pools[pid]["start_time"] = int(row.get("startTime"))
            elif pid in pools and row.event == "PoolEnded":
                pools[pid]["status"] = "completed"
                pools[pid]["end_time"] = int(row.get("endTime"))
            elif pid in pools and row.event == "PoolMetadataUpdated":
                pools[pid]["params"]["metadataUri"] = row.get("metadataUri")
        members = self._members()
        rewards: dict[int, int] = defaultdict(int)
        rounds: dict[int, set[int]] = defaultdict(set)
        for row in self.model.rows(["RewardAccrued", "RoundFinalized"]):
            pid = int(row.get("poolId"))
            if row.event == "RewardAccrued":
                rewards[pid] += int(row.get("reward"))
            else:
                rounds[pid].add(int(row.get("round")))
        for pid, pool in pools.items():
            pool["members"] = sorted(n for n, p in members.items() if p == pid)
            pool["node_count"] = len(pool["members"])
            pool["rewards_paid"] = lora(rewards[pid])
            pool["rounds_finalized"] = len(rounds[pid])
        return pools

    def _members(self) -> dict[str, int]:
        """node -> pool it is in now (from joins, leaves and ejections)."""
        where: dict[str, int] = {}
        for row in self.model.rows(["NodeJoined", "NodeLeft", "NodeEjected"]):
            node = str(row.get("node"))
            if row.event == "NodeJoined":
                where[node] = int(row.get("poolId"))
            elif where.get(node) == int(row.get("poolId")):
                where.pop(node)
        return where

    # -- pages -------------------------------------------------------------------------------

    def overview(self, *, page: int = 1, per_page: int = 20) -> dict[str, Any]:
        accounts = _fold_accounts(self.model.rows(ACCOUNT_EVENTS))
        providers = sorted(
            (a for a in accounts.values() if a.registered), key=lambda a: (-a.staked, a.address)
        )
        supply = 0
        for row in self.model.rows(["Transfer"]):
            if row.get("from") == ZERO:
                supply += int(row.get("value"))
            if row.get("to") == ZERO:
                supply -= int(row.get("value"))
        pools = self._pool_summaries()
        pager = paginate(len(providers), page, per_page)
        first = (pager["page"] - 1) * pager["per_page"]
        recent = self.model.rows(newest_first=True, limit=15)
        recent = [r for r in recent if r.event not in ("Approval", "DelegateVotesChanged")]
        return {
            "meta": self.model.meta(),
            "totals": {
                "providers": len(providers),
                "nodes": sum(len(a.nodes) for a in accounts.values()),
                "compute_units": sum(sum(a.nodes.values()) for a in accounts.values()),
                "staked": lora(sum(a.staked for a in accounts.values())),
                "unbonding": lora(sum(a.unbonding for a in accounts.values())),
                "slashed": lora(sum(a.slashed for a in accounts.values())),
                "rewards_accrued": lora(sum(a.accrued for a in accounts.values())),
                "rewards_claimed": lora(sum(a.claimed for a in accounts.values())),
                "supply": lora(supply),
                "pools": len(pools),
                "active_pools": sum(1 for p in pools.values() if p["status"] == "active"),
                "reports": self.model.count_rows(["ReportSubmitted"]),
                "rounds_finalized": self.model.count_rows(["RoundFinalized"]),
                "events": self.model.count(),
            },
            "pools": [pools[k] for k in sorted(pools)],
            "providers": [a.as_dict() for a in providers[first : first + pager["per_page"]]],
            "providers_page": pager,
            "recent": [_ev(r) for r in recent],
        }

    def pool(self, pool_id: int, *, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        pools = self._pool_summaries()
        if pool_id not in pools:
            raise NotFound(f"pool {pool_id} is not in the index.")
        pool = pools[pool_id]
        rows = self.model.rows(
            ["ReportSubmitted", "RoundFinalized", "RewardAccrued", "ReportRejected", "Attested"],
            pool_id=pool_id,
        )
        rounds: dict[int, dict[str, Any]] = {}
        slashes = []

        def entry(r: int) -> dict[str, Any]:
            return rounds.setdefault(
                r,
                {
                    "round": r,
                    "reports": 0,
                    "samples": 0,
                    "losses": [],
                    "accepted_losses": [],
                    "accepted": 0,
                    "rejected": 0,
                    "attestations": 0,
                    "finalized": False,
                    "rewarded": 0,
                    "slashed": 0,
                    "next_adapter_hash": None,
                },
            )

        loss_by_index: dict[tuple[int, int], int] = {}
        for row in rows:
            r = entry(int(row.get("round")))
            if row.event == "ReportSubmitted":
                r["reports"] += 1
                r["samples"] += int(row.get("samples"))
                r["losses"].append(int(row.get("loss")))
                loss_by_index[(r["round"], int(row.get("index")))] = int(row.get("loss"))
            elif row.event == "Attested":
                r["attestations"] += 1
            elif row.event == "RewardAccrued":
                r["accepted"] += 1
                r["rewarded"] += int(row.get("reward"))
                loss = loss_by_index.get((r["round"], int(row.get("index"))))
                if loss is not None:
                    r["accepted_losses"].append(loss)
            elif row.event == "ReportRejected":
                r["rejected"] += 1
                r["slashed"] += int(row.get("slashed"))
                slashes.append(
                    {
                        "round": r["round"],
                        "index": int(row.get("index")),
                        "provider": row.get("provider"),
                        "node": row.get("node"),
                        "slashed": int(row.get("slashed")),
                        "block": row.block,
                        "tx_hash": row.tx_hash,
                    }
                )
            elif row.event == "RoundFinalized":
                r["finalized"] = True
                r["decided"] = bool(row.get("decided"))
                r["next_adapter_hash"] = row.get("baseAdapterHash")
        table = []
        for number in sorted(rounds, reverse=True):
            r = rounds[number]
            mean = sum(r["losses"]) / len(r["losses"]) if r["losses"] else None
            acc = r["accepted_losses"]
            mean_acc = sum(acc) / len(acc) if acc else None
            table.append(
                {
                    "round": number,
                    "reports": r["reports"],
                    "samples": r["samples"],
                    "accepted": r["accepted"],
                    "rejected": r["rejected"],
                    "attestations": r["attestations"],
                    "finalized": r["finalized"],
                    "mean_loss": None if mean is None else _loss(round(mean)),
                    "accepted_loss": None if mean_acc is None else _loss(round(mean_acc)),
                    "rewarded": r["rewarded"],
                    "slashed": r["slashed"],
                    "next_adapter_hash": r["next_adapter_hash"],
                }
            )
        series = [
            {
                "round": item["round"],
                "loss": item["accepted_loss"]
                if item["accepted_loss"] is not None
                else item["mean_loss"],
            }
            for item in reversed(table)
        ]
        pager = paginate(len(table), page, per_page)
        first = (pager["page"] - 1) * pager["per_page"]
        shown = [
            {**item, "rewarded": lora(item["rewarded"]), "slashed": lora(item["slashed"])}
            for item in table[first : first + pager["per_page"]]
        ]
        total_slashed = sum(s["slashed"] for s in slashes)
        return {
            **pool,
            "rounds": shown,
            "rounds_page": pager,
            "loss_series": series,
            "slashes": [{**s, "slashed": lora(s["slashed"])} for s in slashes[-50:][::-1]],
            "slashed_total": lora(total_slashed),
            "reports_total": sum(r["reports"] for r in rounds.values()),
        }

    def round(self, pool_id: int, round: int) -> dict[str, Any]:
        rows = self.model.rows(pool_id=pool_id, round=round)
        if not rows:
            raise NotFound(f"round {round} of pool {pool_id} is not in the index.")
        reasons = self.reasons.for_round(pool_id, round)
        reports: dict[int, dict[str, Any]] = {}
        attestations = []
        finalized: dict[str, Any] | None = None
        quorum: dict[str, Any] | None = None
        for row in rows:
            if row.event == "ReportSubmitted":
                idx = int(row.get("index"))
                uri = str(row.get("artifactUri"))
                digest = str(row.get("adapterHash"))
                reports[idx] = {
                    "index": idx,
                    "node": row.get("node"),
                    "provider": row.get("provider"),
                    "samples": int(row.get("samples")),
                    "loss": _loss(int(row.get("loss"))),
                    "adapter_hash": digest,
                    "artifact_uri": uri,
                    "artifact_link": artifact_link(uri, digest, self._has_artifact),
                    "execution_mode": MODES.get(int(row.get("executionMode")), "unknown"),
                    "replay_root": row.get("replayRoot"),
                    "block": row.block,
                    "tx_hash": row.tx_hash,
                    "outcome": "pending",
                    "reward": None,
                    "slashed": None,
                    "reasons": reasons.get(idx, []),
                    "verdicts": [],
                }
            elif row.event == "Attested":
                attestations.append(
                    {
                        "validator": row.get("validator"),
                        "bitmap": int(row.get("acceptBitmap")),
                        "next_adapter_hash": row.get("nextAdapterHash"),
                        "votes": int(row.get("votes")),
                        "block": row.block,
                        "tx_hash": row.tx_hash,
                    }
                )
            elif row.event == "QuorumReached":
                quorum = {"bitmap": int(row.get("acceptBitmap")), "block": row.block}
            elif row.event == "RoundFinalized":
                finalized = {
                    "decided": bool(row.get("decided")),
                    "accepted": int(row.get("accepted")),
                    "rejected": int(row.get("rejected")),
                    "awarded": lora(int(row.get("awarded"))),
                    "base_adapter_hash": row.get("baseAdapterHash"),
                    "block": row.block,
                    "tx_hash": row.tx_hash,
                }
            elif row.event == "RewardAccrued":
                rep = reports.get(int(row.get("index")))
                if rep is not None:
                    rep["outcome"] = "accepted"
                    rep["reward"] = lora(int(row.get("reward")))
            elif row.event == "ReportRejected":
                rep = reports.get(int(row.get("index")))
                if rep is not None:
                    rep["outcome"] = "rejected"
                    rep["slashed"] = lora(int(row.get("slashed")))
        for att in attestations:
            for idx, rep in reports.items():
                rep["verdicts"].append(
                    {
                        "validator": att["validator"],
                        "accept": bool(att["bitmap"] >> idx & 1),
                    }
                )
            att["bitmap"] = hex(att["bitmap"])
        if quorum is not None:
            quorum["bitmap"] = hex(quorum["bitmap"])
        return {
            "pool_id": pool_id,
            "round": round,
            "reports": [reports[i] for i in sorted(reports)],
            "attestations": attestations,
            "quorum": quorum,
            "finalized": finalized,
            "events": [_ev(r) for r in rows],
        }

    def providers(self, *, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        accounts = _fold_accounts(self.model.rows(ACCOUNT_EVENTS))
        listed = sorted(
            (a for a in accounts.values() if a.registered), key=lambda a: (-a.staked, a.address)
        )
        pager = paginate(len(listed), page, per_page)
        first = (pager["page"] - 1) * pager["per_page"]
        return {
            "providers": [a.as_dict() for a in listed[first : first + pager["per_page"]]],
            "page": pager,
        }

    def provider(self, address: str, *, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        who = _address(address)
        rows = self.model.rows(ACCOUNT_EVENTS, provider=who)
        if not rows:
            raise NotFound(f"provider {who} is not in the index.")
        acc = _fold_accounts(rows).get(who, _Account(who))
        unbonds: dict[int, dict[str, Any]] = {}
        withdrawn_to = 0
        slashes = []
        rewards = []
        for row in rows:
            if row.event == "UnbondRequested":
                rid = int(row.get("requestId"))
                unbonds[rid] = {
                    "id": rid,
                    "amount": lora(int(row.get("amount"))),
                    "release_at": int(row.get("releaseAt")),
                    "withdrawn": False,
                    "block": row.block,
                }
            elif row.event == "Withdrawn":
                withdrawn_to = max(withdrawn_to, int(row.get("toId")))
            elif row.event == "Slashed":
                slashes.append(
                    {
                        "amount": lora(int(row.get("amount"))),
                        "burned": lora(int(row.get("burned"))),
                        "to_treasury": lora(int(row.get("toTreasury"))),
                        "reason": row.get("reason"),
                        "block": row.block,
                        "tx_hash": row.tx_hash,
                    }
                )
            elif row.event == "RewardAccrued":
                rewards.append(
                    {
                        "pool_id": int(row.get("poolId")),
                        "round": int(row.get("round")),
                        "node": row.get("node"),
                        "reward": lora(int(row.get("reward"))),
                        "block": row.block,
                    }
                )
        for rid, unbond in unbonds.items():
            unbond["withdrawn"] = rid < withdrawn_to
        members = self._members()
        nodes = [self._node_summary(n, units, members) for n, units in sorted(acc.nodes.items())]
        pager = paginate(len(rewards), page, per_page)
        first = (pager["page"] - 1) * pager["per_page"]
        newest = rewards[::-1]
        return {
            **acc.as_dict(),
            "nodes": nodes,
            "unbonds": [unbonds[k] for k in sorted(unbonds)],
            "slashes": slashes[::-1],
            "rewards": newest[first : first + pager["per_page"]],
            "rewards_page": pager,
            "events": [_ev(r) for r in rows[::-1][:30]],
        }

    def _node_summary(self, node: str, units: int, members: dict[str, int]) -> dict[str, Any]:
        last = self.model.rows(["ReportSubmitted"], node=node, newest_first=True, limit=1)
        heartbeat = self._heartbeats(node) if self._heartbeats else None
        return {
            "address": node,
            "compute_units": units,
            "pool_id": members.get(node),
            "last_report_block": last[0].block if last else None,
            "heartbeat": heartbeat,
        }

    def node(self, address: str, *, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        who = _address(address)
        rows = self.model.rows(node=who)
        if not rows:
            raise NotFound(f"node {who} is not in the index.")
        provider = None
        units = 0
        validated = False
        blacklisted = False
        removed = False
        reports = []
        pools = []
        for row in rows:
            if row.event == "NodeAdded":
                provider, units, removed = row.get("provider"), int(row.get("computeUnits")), False
            elif row.event == "NodeRemoved":
                removed = True
            elif row.event == "NodeValidationSet":
                validated = bool(row.get("validated"))
            elif row.event == "NodeBlacklistSet":
                blacklisted = bool(row.get("blacklisted"))
            elif row.event in ("NodeJoined", "NodeLeft", "NodeEjected"):
                pools.append(
                    {"event": row.event, "pool_id": int(row.get("poolId")), "block": row.block}
                )
            elif row.event == "ReportSubmitted":
                reports.append(
                    {
                        "pool_id": int(row.get("poolId")),
                        "round": int(row.get("round")),
                        "samples": int(row.get("samples")),
                        "loss": _loss(int(row.get("loss"))),
                        "adapter_hash": row.get("adapterHash"),
                        "block": row.block,
                    }
                )
        pager = paginate(len(reports), page, per_page)
        first = (pager["page"] - 1) * pager["per_page"]
        summary = self._node_summary(who, units, self._members())
        return {
            **summary,
            "provider": provider,
            "validated": validated,
            "blacklisted": blacklisted,
            "removed": removed,
            "pool_history": pools[::-1],
            "reports": reports[::-1][first : first + pager["per_page"]],
            "reports_page": pager,
        }

    def events(self, *, page: int = 1, per_page: int = 50) -> dict[str, Any]:
        pager = paginate(self.model.count(), page, per_page)
        rows = self.model.rows(
            newest_first=True,
            limit=pager["per_page"],
            offset=(pager["page"] - 1) * pager["per_page"],
        )
        return {"events": [_ev(r) for r in rows], "page": pager}

    def search(self, query: str) -> dict[str, Any]:
        """Where a typed id or address leads: a pool, a provider or a node."""
        text = query.strip()
        if text.isdigit():
            return {"kind": "pool", "path": f"/pool/{int(text)}"}
        if "/" in text:
            pool, _, rnd = text.partition("/")
            if pool.strip().isdigit() and rnd.strip().isdigit():
                return {"kind": "round", "path": f"/pool/{int(pool)}/round/{int(rnd)}"}
        if is_address(text):
            who = to_checksum_address(text)
            if self.model.rows(["ProviderRegistered"], provider=who, limit=1):
                return {"kind": "provider", "path": f"/provider/{who}"}
            if self.model.rows(node=who, limit=1):
                return {"kind": "node", "path": f"/node/{who}"}
        raise NotFound(f"nothing in the index matches '{text}'.")


def _address(text: str) -> str:
    if not is_address(text):
        raise NotFound(f"'{text}' is not an address.")
    return str(to_checksum_address(text))
