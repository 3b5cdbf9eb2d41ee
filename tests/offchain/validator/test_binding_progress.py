"""Node <-> peer endorsements in a real hivemind DHT, and the progress log."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from offchain.rounds.binding import (
    NodeProgress,
    announce_node,
    endorsed_node,
    read_node_progress,
    sign_endorsement,
)
from offchain.validator.progress import ProgressLog, ProgressRecorder
from trainer.collab import create_dht
from trainer.config import HivemindConfig

NODE = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "22" * 32)
OWNER = b"[owner:ssh-rsa AAAA]"


def test_endorsement_verifies_only_for_its_signer() -> None:
    signature = sign_endorsement(NODE, "run", OWNER)
    assert endorsed_node("run", OWNER, {"node": NODE.address, "signature": signature}) == (
        NODE.address.lower()
    )
    # claiming the endorsement for another node, run or peer fails
    assert endorsed_node("run", OWNER, {"node": OTHER.address, "signature": signature}) is None
    assert endorsed_node("run2", OWNER, {"node": NODE.address, "signature": signature}) is None
    assert (
        endorsed_node("run", b"[owner:x]", {"node": NODE.address, "signature": signature}) is None
    )
    assert endorsed_node("run", OWNER, {"node": NODE.address, "signature": "0x12"}) is None
    assert endorsed_node("run", OWNER, "garbage") is None


def _publish_progress(dht: object, run_id: str, samples: int, epoch: int) -> None:
    """Store a progress record as hivemind's tracker does (signed with the process key)."""
    from hivemind.dht.crypto import RSASignatureValidator
    from hivemind.utils import get_dht_time

    owner = RSASignatureValidator().local_public_key
    value = {
        "peer_id": b"peer",
        "epoch": epoch,
        "samples_accumulated": samples,
        "samples_per_second": 1.0,
        "time": get_dht_time(),
        "client_mode": False,
    }
    assert dht.store(  # type: ignore[attr-defined]
        run_id + "_progress", subkey=owner, value=value, expiration_time=get_dht_time() + 60
    )


def test_progress_is_read_through_the_endorsement() -> None:
    cfg = HivemindConfig()
    peer = create_dht(cfg, read_progress=True)
    reader = None
    try:
        reader = create_dht(
            cfg, [str(m) for m in peer.get_visible_maddrs()], client_mode=True, read_progress=True
        )
        assert read_node_progress(reader, "run") == []
        _publish_progress(peer, "run", samples=24, epoch=2)
        assert read_node_progress(reader, "run") == []  # no endorsement: nobody's progress
        assert announce_node(peer, "run", NODE, ttl_s=60)
        assert read_node_progress(reader, "run") == [NodeProgress(NODE.address.lower(), 2, 24)]
    finally:
        if reader is not None:
            reader.shutdown()
        peer.shutdown()


def test_progress_log_sums_the_largest_count_per_epoch(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "p.db")
    node = NODE.address
    assert log.published_samples("run", node) is None
    log.record("run", [NodeProgress(node, 0, 8), NodeProgress(node, 0, 16)])
    log.record("run", [NodeProgress(node, 0, 8), NodeProgress(node, 1, 16)])
    log.record("other", [NodeProgress(node, 0, 999)])
    assert log.published_samples("run", node.upper().replace("0X", "0x")) == 32
    log.close()
    assert ProgressLog(tmp_path / "p.db").published_samples("run", node) == 32  # persisted


def test_progress_log_fills_epochs_it_missed(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "p.db")
    log.record("run", [NodeProgress("0xA", 0, 48), NodeProgress("0xA", 3, 40)])
    log.record("run", [NodeProgress("0xA", 5, 0)])  # finished: the last epoch is empty
    # epochs 1, 2 and 4 were missed: each counts as the median of the observed ones (40)
    assert log.published_samples("run", "0xa") == 48 + 40 + 40 + 40 + 40 + 0


def test_recorder_polls_every_run(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "p.db")
    seen = {"a": [NodeProgress("0xA", 0, 8)], "b": []}

    def read(_dht: object, run_id: str) -> list[NodeProgress]:
        if run_id == "boom":
            raise RuntimeError("dht hiccup")
        return seen[run_id]

    recorder = ProgressRecorder(None, log, lambda: ["a", "boom", "b"], read=read)
    assert recorder.poll_once() == 1
    assert log.published_samples("a", "0xa") == 8
