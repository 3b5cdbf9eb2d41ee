"""Deterministic aggregation of node adapters and agreement between them.

``aggregate_adapters``: the element-wise mean of the accepted adapters, in fp32, summed in the
order of the node addresses (lower-cased, sorted), then divided by the count — the same
float operations in the same order on every machine, so anyone recomputes the same bytes
and hash (ARCHITECTURE.md, "Finalize").

``adapter_agreement``: how far each adapter is from the element-wise median of all of them
(relative L2 distance and cosine similarity of the flattened weights), the tolerance check
validators apply because peers of one hivemind run end close, not bit-identical.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer.artifacts import load_adapter_state, save_adapter
from trainer.errors import ArtifactError

logger = logging.getLogger(__name__)


def _load_all(paths_by_node: Mapping[str, Path]) -> list[tuple[str, dict[str, torch.Tensor]]]:
    if not paths_by_node:
        raise ArtifactError("Cannot aggregate zero adapters.")
    keyed = sorted(((node.lower(), Path(p)) for node, p in paths_by_node.items()))
    states = [(node, load_adapter_state(path)) for node, path in keyed]
    keys = list(states[0][1])
    for node, state in states[1:]:
        if list(state) != keys or any(state[k].shape != states[0][1][k].shape for k in keys):
            raise ArtifactError(f"The adapter of node {node} does not have the same tensors.")
    return states


def mean_state(paths_by_node: Mapping[str, Path]) -> dict[str, torch.Tensor]:
    """Element-wise fp32 mean of the adapters, summed in sorted node-address order."""
    states = _load_all(paths_by_node)
    out: dict[str, torch.Tensor] = {}
    for key in states[0][1]:
        acc = torch.zeros_like(states[0][1][key], dtype=torch.float32)
        for _, state in states:
            acc = acc + state[key]
        out[key] = acc / float(len(states))
    return out


def aggregate_adapters(paths_by_node: Mapping[str, Path], out: Path) -> str:
    """Write the canonical mean adapter to ``out``; return its hash (next round's base)."""
    digest = save_adapter(mean_state(paths_by_node), out)
    logger.info("aggregated adapters nodes=%d hash=%s", len(paths_by_node), digest)
    return digest


@dataclass(frozen=True)
class Agreement:
    """Distance of one adapter to the element-wise median of a set of adapters."""

    node: str
    relative_distance: float
    cosine: float


def _flat(state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([state[k].reshape(-1).double() for k in sorted(state)])


def adapter_agreement(paths_by_node: Mapping[str, Path]) -> list[Agreement]:
    """Each adapter's relative L2 distance and cosine similarity to the element-wise median."""
    states = _load_all(paths_by_node)
    flats = torch.stack([_flat(s) for _, s in states])
    median = flats.median(dim=0).values
    norm = float(median.norm()) or 1.0
    result = []
    for (node, _), flat in zip(states, flats, strict=True):
        dist = float((flat - median).norm()) / norm
        cos = float(torch.nn.functional.cosine_similarity(flat, median, dim=0))
        result.append(Agreement(node, dist, cos))
    return result
