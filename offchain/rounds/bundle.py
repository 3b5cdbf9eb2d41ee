"""The replay bundle: what a node publishes next to its adapter so validators can replay it.

A node's artifact store holds, side by side (same folder or prefix, each named by its SHA-256;
:mod:`offchain.artifacts.round`):

* ``<adapter hash hex>`` — the reported adapter (its hash is in the report);
* ``<checkpoint hash hex>`` — each training-state checkpoint (LoRA weights and inner optimizer
  state) the records commit to (``trainer.replay``: a DiLoCo round saves one at every outer
  step's start and end and every ``checkpoint_every`` inner steps);
* ``<bundle hash hex>`` — this :class:`ReplayBundle`, named in the fragment of the report's
  artifact URI (``...#replay=<bundle hex>``), so the signed report binds it.

The bundle lists every replay record (their Merkle root is the report's signed ``replayRoot``),
the shard the node trained (``node_index`` of ``node_count``), the hivemind run and the base
adapter it started from. A validator recomputes the root from the records, so a bundle that
does not match the signed report is worthless.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from offchain.artifacts.round import bundle_location
from offchain.artifacts.round import checkpoint_uri as _checkpoint_uri
from trainer.replay import ReplayRecord

logger = logging.getLogger(__name__)

BUNDLE_FILE = "replay-bundle.json"
ZERO_HASH = "0x" + "00" * 32


class ReplayBundle(BaseModel):
    """A node's replay records and the context needed to replay them."""

    model_config = ConfigDict(frozen=True)

    version: int = 2
    node: str
    pool_id: int
    round: int
    run_id: str
    node_index: int
    node_count: int
    batch_size: int
    base_adapter: str = ZERO_HASH
    records: list[dict[str, object]]
    checkpoints: list[str]  # hashes of every checkpoint the records name
    device: str | None = None  # where the node trained (``cuda``, ``cpu``): its mode claim

    def replay_records(self) -> list[ReplayRecord]:
        return [ReplayRecord.from_json(dict(r)) for r in self.records]


def bundle_name(pool_id: int, round: int, node: str) -> str:
    return f"replay-{pool_id}-{round}-{node.lower()}.json"


def bundle_uri(artifact_uri: str) -> tuple[str, str] | None:
    """``(URI, sha256)`` of the bundle a report's artifact URI names, or ``None``."""
    return bundle_location(artifact_uri)


def checkpoint_uri(artifact_uri: str, digest: str) -> str:
    return _checkpoint_uri(artifact_uri, digest)


def load_bundle(path: Path) -> ReplayBundle:
    return ReplayBundle.model_validate_json(Path(path).read_text())
