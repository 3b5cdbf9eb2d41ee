"""One training node of the e2e tests, as a process: ``python train_peer.py spec.json``.

Runs :func:`offchain.validator.publish.train_verifiable` (hivemind round + node <-> peer
endorsement + replay bundle) like the worker's round work does, and writes the worker's
``trained.json`` marker next to the adapter.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import torch
from eth_account import Account

from offchain.validator.publish import train_verifiable
from trainer.config import TrainConfig


def main(spec_path: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    spec = json.loads(Path(spec_path).read_text())
    out_dir = Path(spec["out_dir"])
    trained = train_verifiable(
        TrainConfig.model_validate(spec["cfg"]),
        node_key=Account.from_key(spec["node_key"]),
        pool_id=spec["pool_id"],
        round=spec["round"],
        node_index=spec["node_index"],
        node_count=spec["node_count"],
        initial_peers=spec["initial_peers"],
        base_adapter=None,
        base_hash="0x" + "00" * 32,
        out_dir=out_dir,
    )
    (out_dir / "trained.json").write_text(trained.model_dump_json())


if __name__ == "__main__":
    main(sys.argv[1])
