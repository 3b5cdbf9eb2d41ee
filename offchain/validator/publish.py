"""The node side of validation: train so that validators can check, publish what they fetch.

* :func:`train_verifiable` — one round through ``trainer.collab.train_round`` with a DHT that
  also carries the node's endorsement of its hivemind peer (:mod:`offchain.validator.binding`);
  writes the replay bundle (:mod:`offchain.validator.bundle`) next to the adapter;
* :func:`publishing_store_fn` — the worker's artifact store, plus the epoch checkpoints and the
  bundle next to the artifact;
* :func:`fresh_adapter` / :func:`resolve_adapter` — the round's base adapter as a file (the
  seeded LoRA initialisation for hash 0, else fetched by hash from adapter sources).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.validator.binding import announce_node
from offchain.validator.bundle import BUNDLE_FILE, ZERO_HASH, ReplayBundle, bundle_name
from offchain.validator.errors import FetchError, ValidatorError
from offchain.validator.fetch import fetch
from offchain.worker.round_work import StoreFn, TrainedRound, TrainFn, artifact_store_fn
from trainer.artifacts import ArtifactStore, adapter_hash, save_adapter
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)


def fresh_adapter(cfg: TrainConfig, cache_dir: Path) -> Path:
    """The seeded LoRA initialisation of ``cfg.model`` as an adapter file (hash 0 on chain)."""
    from trainer.models import attach_lora, build_base_model

    cache_dir.mkdir(parents=True, exist_ok=True)
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    tmp = cache_dir / "fresh.tmp"
    digest = save_adapter(model, tmp)
    path = cache_dir / f"fresh-{digest.removeprefix('0x')}.safetensors"
    tmp.replace(path)
    return path


def resolve_adapter(digest: str, sources: Sequence[str], cache_dir: Path) -> Path:
    """The adapter with ``digest`` from the first source that has it (folders or base URIs:
    ``<source>/<hash hex>.safetensors``); hash-checked."""
    name = f"{digest.lower().removeprefix('0x')}.safetensors"
    for source in sources:
        try:
            path = fetch(f"{source.rstrip('/')}/{name}", cache_dir)
        except FetchError:
            continue
        if adapter_hash(path) == "0x" + name.removesuffix(".safetensors"):
            return path
    raise ValidatorError(f"adapter {digest} is in none of the adapter sources {list(sources)}.")


def round_base(
    cfg: TrainConfig, digest: str, sources: Sequence[str], cache_dir: Path
) -> tuple[Path | None, str]:
    """(adapter file to start from or None for the fresh one, its on-chain hash)."""
    if digest == ZERO_HASH:
        return None, ZERO_HASH
    return resolve_adapter(digest, sources, cache_dir), digest


BaseResolver = Callable[[int, int], tuple[Path | None, str]]


def base_resolver(
    cfg: TrainConfig, *, client: Any, sources: Sequence[str], cache_dir: Path
) -> BaseResolver:
    """``(pool, round) -> (base adapter file or None for the fresh one, on-chain hash)``."""
    from offchain.validator.chainview import ChainView

    view = ChainView(
        client.w3,
        client.contract("ComputePool"),
        client.contract("DomainRegistry"),
        client.contract("WorkLedger"),
    )

    def _base(pool_id: int, round: int) -> tuple[Path | None, str]:
        digest = view.base_adapter_at_start(pool_id, round)
        return round_base(cfg, digest, sources, cache_dir)

    return _base


def write_bundle(out_dir: Path, result: Any, node: str, base_hash: str, batch_size: int) -> Path:
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
        epoch_adapters={e: adapter_hash(p) for e, p in result.epoch_adapters.items()},
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
    write_bundle(out_dir, result, node_key.address, base_hash, cfg.batch_size)
    return TrainedRound(
        adapter_path=result.adapter_path,
        adapter_hash=result.adapter_hash,
        samples=result.samples,
        loss=result.final_loss,
        replay_root=result.records_root,
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
) -> TrainFn:
    """The worker's ``TrainFn``: everything about the round from the chain, then
    :func:`train_verifiable` in a child process (hivemind needs a main thread, see
    :mod:`offchain.worker.node_process`).

    Per round, :class:`offchain.pools.discovery.PoolDiscovery` gives the node's shard index
    and the node count (the round's members, sorted by address), the swarm's bootstrap peers
    and the pool's training settings (its metadata), merged with ``local_train`` (the node's
    own train-config file) and its listen/announce addresses. ``cfg`` is that local file's
    config, used when the pool's metadata sets nothing. ``on_step`` is called once per trained
    step after the round (the worker's step counter)."""
    from offchain.pools.discovery import PoolDiscovery

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
        sources = plan.adapter_sources
        base, base_hash = base_resolver(
            round_cfg, client=client, sources=sources, cache_dir=cache_dir
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
    """``artifact_store_fn(root)`` that also publishes the epoch checkpoints and the replay
    bundle found next to the adapter (``replay-bundle.json``)."""
    inner = artifact_store_fn(root)

    def _store(adapter_path: Path) -> str:
        uri = inner(adapter_path)
        source = Path(adapter_path).parent / BUNDLE_FILE
        if source.is_file():
            bundle = ReplayBundle.model_validate_json(source.read_text())
            store = ArtifactStore(root)
            epochs = Path(adapter_path).parent / "epochs"
            for path in sorted(epochs.glob("*.safetensors")) if epochs.is_dir() else []:
                store.put(path)
            for digest in bundle.epoch_adapters.values():
                if not store.has(digest):
                    logger.warning("epoch checkpoint %s is missing from %s", digest, epochs)
            target = store.root / bundle_name(bundle.pool_id, bundle.round, bundle.node)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(source.read_text())
            tmp.replace(target)
        return uri

    return _store
