"""Dishonest contributions (the pseudo-gradients of a DiLoCo round), for tests and the demo.

A node's contribution at outer step ``e`` is the update ``Δ = end - start`` between the two
checkpoints its replay bundle commits for that outer step (what it sends into the all-reduce).
These cheaters train with the swarm, then commit (and would send) other contributions:

* ``copygrad`` — another node's contributions (``Δ`` of that node's outer steps), trained on
  that node's data, not its own (``LORANET_CHEAT_COPY_FROM``: the other node's data dir);
* ``scalegrad`` — its own contributions scaled by :data:`GRAD_SCALE` (an inflated update that
  pulls the average towards itself; below 1 it is a lazy one);
* ``poison`` — its own contributions sign-flipped (:data:`POISON_FACTOR` x ``-Δ``: the classic
  sign-flip attack on an aggregate, which pushes the model up the loss).

:func:`rewrite_contributions` replaces the end checkpoint of every outer step of the node's
round folder (its weights; the inner optimizer state is kept) and re-commits the records to
it (a new ``replayRoot``). The usefulness check rejects each (docs/validation.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from offchain.worker.round_work import TrainedRound

logger = logging.getLogger(__name__)

GRAD_SCALE = 3.0
POISON_FACTOR = 1.0
BUNDLE_FILE = "replay-bundle.json"  # offchain.rounds.bundle.BUNDLE_FILE

State = dict[str, torch.Tensor]
#: ``(outer step, start weights, own update) -> update to commit``
Transform = Callable[[int, State, State], State]


def scaled(delta: State, factor: float) -> State:
    return {k: v * factor for k, v in delta.items()}


def sign_flipped(delta: State, factor: float = POISON_FACTOR) -> State:
    return {k: -factor * v for k, v in delta.items()}


def outer_step_updates(folder: Path) -> dict[int, tuple[State, State]]:
    """``epoch -> (start weights, update)`` of the node whose round folder is ``folder``."""
    from trainer.artifacts import load_adapter_state
    from trainer.replay import ReplayRecord, state_weights

    bundle = json.loads((folder / BUNDLE_FILE).read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    out: dict[int, tuple[State, State]] = {}
    for epoch in sorted({r.epoch for r in records}):
        mine = [r for r in records if r.epoch == epoch]
        start = state_weights(load_adapter_state(_checkpoint(folder, mine[0].start)))
        end = state_weights(load_adapter_state(_checkpoint(folder, mine[-1].end)))
        out[epoch] = (start, {k: end[k] - start[k] for k in start})
    return out


def _checkpoint(folder: Path, digest: str) -> Path:
    return folder / "checkpoints" / f"{digest.removeprefix('0x')}.safetensors"


def rewrite_contributions(
    trained: TrainedRound, out_dir: Path, transform: Transform
) -> TrainedRound:
    """Commit ``start + transform(epoch, start, Δ)`` as every outer step's end checkpoint in
    the round folder ``out_dir`` (bundle and checkpoints); returns the report's new root."""
    from trainer.artifacts import load_adapter_state, save_adapter
    from trainer.replay import ReplayRecord, records_root, state_weights

    path = out_dir / BUNDLE_FILE
    bundle = json.loads(path.read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    for epoch in sorted({r.epoch for r in records}):
        mine = [r for r in records if r.epoch == epoch]
        old_end = mine[-1].end
        start = state_weights(load_adapter_state(_checkpoint(out_dir, mine[0].start)))
        state = load_adapter_state(_checkpoint(out_dir, old_end))
        delta = {k: state[k] - start[k] for k in start}
        new = transform(epoch, start, delta)
        state.update({k: start[k] + new[k] for k in start})
        tmp = out_dir / "checkpoints" / "cheat.tmp"
        digest = save_adapter(state, tmp)
        tmp.replace(_checkpoint(out_dir, digest))
        for r in records:
            if r.epoch == epoch and r.end == old_end:
                records[r.step] = ReplayRecord(
                    r.step, r.epoch, r.loss, r.projection, r.start, digest
                )
        bundle["checkpoints"] = sorted({*bundle["checkpoints"], digest})
    bundle["records"] = [r.to_json() for r in records]
    path.write_text(json.dumps(bundle))
    return trained.model_copy(update={"replay_root": records_root(records)})


def copy_grad(trained: TrainedRound, out_dir: Path, source: Path) -> TrainedRound:
    """Commit the contributions of the node whose round folder is ``source``."""
    theirs = outer_step_updates(source)
    logger.warning("copygrad: committing the contributions of %s", source)
    return rewrite_contributions(trained, out_dir, lambda e, _s, d: theirs.get(e, (None, d))[1])


def scale_grad(trained: TrainedRound, out_dir: Path, factor: float = GRAD_SCALE) -> TrainedRound:
    return rewrite_contributions(trained, out_dir, lambda _e, _s, d: scaled(d, factor))


def poison(trained: TrainedRound, out_dir: Path, factor: float = POISON_FACTOR) -> TrainedRound:
    return rewrite_contributions(trained, out_dir, lambda _e, _s, d: sign_flipped(d, factor))
