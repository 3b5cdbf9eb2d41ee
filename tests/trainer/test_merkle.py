"""Merkle commitments over replay records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.errors import ReplayError
from trainer.merkle import merkle_proof, merkle_root, verify_proof
from trainer.replay import ReplayRecord, record_proof, records_root, verify_record


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=16), min_size=1, max_size=33))
def test_every_leaf_opens_against_the_root(leaves: list[bytes]) -> None:
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, index)
        assert verify_proof(leaf, index, len(leaves), proof, root)
        assert not verify_proof(leaf + b"x", index, len(leaves), proof, root)
        if len(leaves) > 1:
            other = (index + 1) % len(leaves)
            if leaves[other] != leaf:
                assert not verify_proof(leaf, other, len(leaves), proof, root)


def test_known_root_shape() -> None:
    import hashlib

    a, b, c = b"a", b"b", b"c"
    la, lb, lc = (hashlib.sha256(b"\x00" + x).digest() for x in (a, b, c))
    ab = hashlib.sha256(b"\x01" + la + lb).digest()
    assert merkle_root([a, b, c]) == hashlib.sha256(b"\x01" + ab + lc).digest()


def _records(n: int) -> list[ReplayRecord]:
    return [
        ReplayRecord(i, i // 3, 2.5 - i / 10, tuple(float(i + k) for k in range(4)))
        for i in range(n)
    ]


def test_record_proofs_and_tampering() -> None:
    records = _records(7)
    root = records_root(records)
    proof = record_proof(records, 4)
    assert verify_record(records[4], 7, proof, root)
    forged = ReplayRecord(4, records[4].epoch, records[4].loss * 0.5, records[4].projection)
    assert not verify_record(forged, 7, proof, root)
    assert not verify_record(records[4], 7, ["0xzz"], root)
    with pytest.raises(ReplayError, match="consecutive"):
        records_root([records[1], records[0]])


def test_record_json_round_trip() -> None:
    record = ReplayRecord.make(3, 1, 2.25, __import__("torch").tensor([0.1, -0.2, 0.3]))
    again = ReplayRecord.from_json(record.to_json())
    assert again == record and again.leaf_bytes() == record.leaf_bytes()
