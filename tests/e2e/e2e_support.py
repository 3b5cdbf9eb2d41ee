"""Shared values of the e2e tests (constants and the fixtures' data classes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.chain import ChainClient, Deployment
from offchain.settings import Settings
from offchain.worker.round_work import TrainedRound
from trainer.config import TrainConfig

TOKEN = 10**18
ROUND_LENGTH, SUBMISSION_WINDOW, CHALLENGE_WINDOW = 3_600, 600, 600
QUORUM = 2
EVAL_TOLERANCE = 1_000  # 0.1 % (1e6 = 1.0)
SLASH_BPS = 1_000
REWARD = 100 * TOKEN
STAKE = 5_000 * TOKEN
PEERS = 3
NODES = 4
TRAIN_TIMEOUT_S = 180


@dataclass
class Protocol4:
    """The deployed protocol, one pool in a quorum-2 domain, four providers with a node each."""

    rpc_url: str
    chain_id: int
    contracts: dict[str, str]
    pool_id: int
    start: int
    first_block: int
    providers: list[Any]  # ape accounts
    nodes: list[LocalAccount]
    validators: list[Any]  # ape accounts holding VALIDATOR_ROLE
    ledger: Any
    stake: Any
    pools: Any

    @property
    def end(self) -> int:
        return self.start + ROUND_LENGTH

    @property
    def submission_end(self) -> int:
        return self.end + SUBMISSION_WINDOW

    @property
    def challenge_end(self) -> int:
        return self.submission_end + CHALLENGE_WINDOW

    @property
    def expires_at(self) -> int:
        """A round without quorum may be finalized undecided from here (challenge + grace)."""
        return self.challenge_end + CHALLENGE_WINDOW


@dataclass
class TrainedRound0:
    """What the swarm left: per trained node, its data dir, trained round and artifact URI."""

    cfg: TrainConfig
    node_dirs: list[Path]  # per node (node 3's stays empty: it never trained)
    trained: dict[int, TrainedRound]
    uris: dict[int, str]
    progress_db: Path
    train_seconds: float

    def out_dir(self, node: int, pool_id: int) -> Path:
        return self.node_dirs[node] / "rounds" / str(pool_id) / "0"


def client_for(rpc_url: str, contracts: dict[str, str], chain_id: int, data: Path) -> ChainClient:
    """A chain client of the test anvil, as ``loranet`` builds it."""
    settings = Settings(network="local", rpc_url=rpc_url, data_dir=data, confirmations=1)
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    deployment = Deployment(chain_id=chain_id, contracts=contracts)
    return ChainClient(settings=settings, w3=w3, deployment=deployment)
