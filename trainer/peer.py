"""Subprocess entry point of one local training peer: ``python -m trainer.peer SPEC.json``.

The spec is a :class:`PeerSpec` (JSON); the peer runs :func:`trainer.collab.train_round` and
writes ``result.json`` into its ``out_dir``; it exits non-zero with a one-line message on a
:class:`~offchain.errors.LoranetError`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from offchain.errors import LoranetError
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)


class PeerSpec(BaseModel):
    """Everything a local peer process needs."""

    model_config = ConfigDict(frozen=True)

    train: TrainConfig
    pool_id: int
    round: int
    node_index: int
    node_count: int
    initial_peers: list[str]
    base_adapter: Path | None = None
    out_dir: Path


def run_spec(spec: PeerSpec) -> None:
    from trainer.collab import train_round

    train_round(
        spec.train,
        pool_id=spec.pool_id,
        round=spec.round,
        node_index=spec.node_index,
        node_count=spec.node_count,
        initial_peers=spec.initial_peers,
        base_adapter=spec.base_adapter,
        out_dir=spec.out_dir,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m trainer.peer SPEC.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    spec = PeerSpec.model_validate_json(Path(args[0]).read_text())
    try:
        run_spec(spec)
    except LoranetError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
