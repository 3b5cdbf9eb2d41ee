"""The node's training for a round: train so that validators can check, publish what they
fetch (the node side of validation; shared formats live in :mod:`offchain.rounds`).

* :func:`train_verifiable` — one round through ``trainer.collab.train_round`` with a DHT that
  also carries the node's endorsement of its hivemind peer (:mod:`offchain.rounds.binding`);
  writes the replay bundle (:mod:`offchain.rounds.bundle`) next to the adapter;
* :func:`publishing_store_fn` — a local artifact store (``offchain.artifacts``) that also
  publishes the training-state checkpoints and the bundle, named by hash;
* :func:`base_resolver` — the round's base adapter as a file
  (:mod:`offchain.rounds.adapters`), from the hash the ledger holds at the round's start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.artifacts import Fetcher
from offchain.rounds.adapters import round_base
from offchain.rounds.binding import announce_node
from offchain.rounds.bundle import BUNDLE_FILE, ReplayBundle
from offchain.rounds.errors import SoloRoundError
from offchain.worker.round_work import StoreFn, TrainedRound, TrainFn
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)


BaseResolver = Callable[[int, int], tuple[Path | None, str]]


def base_resolver(
    cfg: TrainConfig,
    *,
    client: Any,
    sources: Sequence[str],
    cache_dir: Path,
    fetcher: Fetcher | None = None,
) -> BaseResolver:
    """``(pool, round) -> (base adapter file or None for the fresh one, on-chain hash)``."""
    from offchain.rounds.chainview import ChainView

    view = ChainView(
        client.w3,
        client.contract("ComputePool"),
        client.contract("DomainRegistry"),
        client.contract("WorkLedger"),
    )

    def _base(pool_id: int, round: int) -> tuple[Path | None, str]:
        digest = view.base_adapter_at_start(pool_id, round)
        return round_base(cfg, digest, sources, fetcher or cache_dir)

    return _base


def training_device(cfg: TrainConfig) -> str:
    """Where ``trainer.models.build_base_model`` puts the pool's model on this machine (the
    built-in tiny model always on the CPU; a pretrained one on the GPU when there is one)."""
    from trainer.hardware import default_device

    return default_device() if cfg.model.source == "pretrained" else "cpu"


def execution_mode_of(device: str) -> int:
    """The ``ExecutionMode`` a node that trained on ``device`` really ran in."""
    return 0 if device == "cuda" else 1  # LOCAL_GPU / CUSTOM


def write_bundle(
    out_dir: Path,
    result: Any,
    node: str,
    base_hash: str,
    batch_size: int,
    device: str | None = None,
) -> Path:
    """Write ``<out_dir>/replay-bundle.json`` from a ``trainer.collab.RoundResult``."""
    from trainer.replay import load_records

    records = load_records(Path(result.records_path))
    bundle = ReplayBundle(
        node=node,
        pool_id=result.pool_id,
        round=result.round,
        run_id=result.run_id,
        node_index=result.node_index,
        node_count=result.node_count,
        batch_size=batch_size,
        base_adapter=base_hash,
        records=[r.to_json() for r in records],
        checkpoints=sorted(str(d) for d in result.checkpoints),
        device=getattr(result, "device", None) or device,
    )
    path = Path(out_dir) / BUNDLE_FILE
    path.write_text(bundle.model_dump_json())
    return path


def train_verifiable(
    cfg: TrainConfig,
    *,
    node_key: LocalAccount,
    pool_id: int,
    round: int,
    node_index: int,
    node_count: int,
    initial_peers: Sequence[str],
    base_adapter: Path | None,
    base_hash: str,
    out_dir: Path,
    announce_ttl_s: float = 3_600.0,
    on_step: Callable[[Any], None] | None = None,
) -> TrainedRound:
    """Train one round with the pool, announce the node <-> peer binding, write the bundle."""
    from trainer.collab import create_dht, run_id_for, train_round

    run_id = run_id_for(cfg.hivemind.run_prefix, pool_id, round)
    dht = create_dht(cfg.hivemind, initial_peers, read_progress=True)
    try:
        announce_node(dht, run_id, node_key, ttl_s=announce_ttl_s)
        result = train_round(
            cfg,
            pool_id=pool_id,
            round=round,
            node_index=node_index,
            node_count=node_count,
            initial_peers=initial_peers,
            base_adapter=base_adapter,
            out_dir=out_dir,
            on_progress=on_step,
            dht=dht,
        )
    finally:
        dht.shutdown()
    if not result.collaborative:
        raise SoloRoundError(
            f"Node {node_key.address} found no peer to average with in any of the "
            f"{result.epochs} outer steps of run {run_id} ({node_count} members): the round "
            f"is not reported as collaborative work (adapter kept in {out_dir})."
        )
    device = training_device(cfg)
    write_bundle(out_dir, result, node_key.address, base_hash, cfg.batch_size, device)
    return TrainedRound(
        adapter_path=result.adapter_path,
        adapter_hash=result.adapter_hash,
        samples=result.samples,
        loss=result.final_loss,
        replay_root=result.records_root,
        execution_mode=execution_mode_of(device),
    )


def pool_train_fn(
    cfg: TrainConfig,
    *,
    client: Any,
    node_key: LocalAccount,
    initial_peers: Sequence[str],
    adapter_sources: Sequence[str],
    cache_dir: Path,
    on_step: Callable[[Any], None] | None = None,
    local_train: Mapping[str, Any] | None = None,
    host_maddrs: Sequence[str] | None = None,
    announce_maddrs: Sequence[str] | None = None,
    fetcher: Fetcher | None = None,
) -> TrainFn:
    """The worker's ``TrainFn``: everything about the round from the chain, then
    :func:`train_verifiable` in a child process (hivemind needs a main thread, see
    :mod:`offchain.worker.node_process`).

    Per round, :class:`offchain.pools.discovery.PoolDiscovery` gives the node's shard index
    and the node count (the round's members, sorted by address), the swarm's bootstrap peers
    and the pool's training settings (its metadata), merged with ``local_train`` (the node's
    own train-config file) and its listen/announce addresses. ``cfg`` is that local file's
    config, used when the pool's metadata sets nothing. ``on_step`` is called once per trained
    step after the round (the worker's step counter). ``fetcher`` fetches base adapters
    (verified, bounded; ``offchain.artifacts``)."""
    from offchain.pools.discovery import PoolDiscovery
    from offchain.pools.inputs import verified_pool_config

    discovery = PoolDiscovery(client)
    local = dict(local_train) if local_train is not None else cfg.model_dump(mode="json")

    def _train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        from offchain.worker.node_process import NodeSpec, train_in_child

        plan = discovery.plan(
            pool_id,
            round,
            node_key.address,
            extra_peers=initial_peers,
            local_train=local,
            host_maddrs=host_maddrs,
            announce_maddrs=announce_maddrs,
            extra_sources=adapter_sources,
        )
        round_cfg = TrainConfig.model_validate(plan.train)
        # the pool's model and data set, fetched by their on-chain URIs and hash-checked
        round_cfg = verified_pool_config(
            round_cfg, client=client, pool_id=pool_id, data_dir=cache_dir.parent
        )
        sources = plan.adapter_sources
        base, base_hash = base_resolver(
            round_cfg, client=client, sources=sources, cache_dir=cache_dir, fetcher=fetcher
        )(pool_id, round)
        spec = NodeSpec(
            cfg=round_cfg,
            node_key="0x" + bytes(node_key.key).hex(),
            pool_id=pool_id,
            round=round,
            node_index=plan.node_index,
            node_count=plan.node_count,
            initial_peers=plan.initial_peers,
            base_adapter=base,
            base_hash=base_hash,
            out_dir=out_dir,
        )
        trained = train_in_child(spec)
        if on_step is not None:
            for _ in range(trained.samples // max(round_cfg.batch_size, 1)):
                on_step(None)
        return trained

    return _train


def publishing_store_fn(root: Path) -> StoreFn:
    """A local (``file://``) store over ``root`` that publishes the round's checkpoints, the
    replay bundle (named in the URI's fragment) and the adapter
    (:func:`offchain.artifacts.round.publish_round`); the worker uses the configured store."""
    from offchain.artifacts import LocalStore
    from offchain.artifacts.round import round_store_fn

    return round_store_fn(LocalStore(root))
