"""A node's training round in a child process: ``python -m offchain.worker.node_process``.

hivemind's averagers install signal handlers, which only the main thread of a process may
do; the worker service runs its tasks in a Celery thread, so each round is trained in a child
process. The spec (a :class:`NodeSpec`, JSON, the node key included) arrives on stdin, never
in a file; the child writes ``node-result.json`` (a ``TrainedRound``) into the round's folder,
or, when the round cannot be reported (it arrived after the round started, it trained alone,
no quorum), ``node-error.txt`` with the one-sentence reason, which the parent raises.
The child is in the worker's process group: stopping the worker stops it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, SecretStr

from offchain.rounds.errors import RoundError
from offchain.worker.round_work import TrainedRound
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)

RESULT_FILE = "node-result.json"
ERROR_FILE = "node-error.txt"
EXIT_REFUSED = 3


class NodeSpec(BaseModel):
    cfg: TrainConfig
    node_key: SecretStr
    pool_id: int
    round: int
    node_index: int
    node_count: int
    initial_peers: list[str]
    base_adapter: Path | None
    base_hash: str
    out_dir: Path

    def payload(self) -> str:
        """JSON with the key in clear: only ever written to the child's stdin."""
        data = self.model_dump(mode="json")
        data["node_key"] = self.node_key.get_secret_value()
        return json.dumps(data)


def train_in_child(spec: NodeSpec, *, timeout_s: float | None = None) -> TrainedRound:
    """Run the round in ``python -m offchain.worker.node_process``; its ``TrainedRound``."""
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    result = spec.out_dir / RESULT_FILE
    result.unlink(missing_ok=True)
    error = spec.out_dir / ERROR_FILE
    error.unlink(missing_ok=True)
    with (spec.out_dir / "train.log").open("ab") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "offchain.worker.node_process"],
            input=spec.payload().encode(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=timeout_s,
            check=False,
        )
    if proc.returncode == EXIT_REFUSED and error.is_file():
        raise RoundError(error.read_text().strip())
    if proc.returncode != 0 or not result.is_file():
        tail = (spec.out_dir / "train.log").read_text(errors="replace")[-1500:]
        raise RoundError(f"training exited with code {proc.returncode}:\n{tail}")
    return TrainedRound.model_validate_json(result.read_text())


def main() -> None:
    import torch
    from eth_account import Account

    from offchain.errors import LoranetError
    from offchain.worker.training import train_verifiable

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    spec = NodeSpec.model_validate_json(sys.stdin.read())
    if spec.cfg.torch_threads:
        torch.set_num_threads(spec.cfg.torch_threads)
    try:
        trained = train_verifiable(
            spec.cfg,
            node_key=Account.from_key(spec.node_key.get_secret_value()),
            pool_id=spec.pool_id,
            round=spec.round,
            node_index=spec.node_index,
            node_count=spec.node_count,
            initial_peers=spec.initial_peers,
            base_adapter=spec.base_adapter,
            base_hash=spec.base_hash,
            out_dir=spec.out_dir,
        )
    except LoranetError as err:  # late, alone, no quorum: one sentence for the worker's log
        logger.warning("round not reported: %s", err)
        (spec.out_dir / ERROR_FILE).write_text(str(err))
        sys.exit(EXIT_REFUSED)
    tmp = spec.out_dir / (RESULT_FILE + ".tmp")
    tmp.write_text(trained.model_dump_json())
    tmp.replace(spec.out_dir / RESULT_FILE)


if __name__ == "__main__":
    main()
