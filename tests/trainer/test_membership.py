"""The quorum start barrier (trainer.membership) against one real DHT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from trainer.collab import create_dht
from trainer.config import HivemindConfig
from trainer.errors import BarrierTimeoutError
from trainer.membership import LateForRoundError, join_round, quorum_size

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def dht() -> Iterator[Any]:
    node = create_dht(HivemindConfig())
    yield node
    node.shutdown()


def join(dht: Any, run_id: str, name: str, **kw: Any) -> Any:
    args = {"expected": 3, "quorum": 0.5, "grace": 1.0, "timeout": 10.0, "start_delay": 0.0}
    return join_round(dht, run_id, name=name, **(args | kw))


def store(dht: Any, key: str, subkey: str, value: Any, ttl: float) -> None:
    from hivemind.utils import get_dht_time

    assert dht.store(key, subkey=subkey, value=value, expiration_time=get_dht_time() + ttl)


def test_quorum_sizes() -> None:
    assert [quorum_size(n, 0.5) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 2, 3]
    assert quorum_size(4, 1.0) == 4 and quorum_size(10, 0.1) == 2


def test_everyone_there_starts_at_once(dht: Any) -> None:
    from hivemind.utils import get_dht_time

    for other in ("b", "c"):
        store(dht, "full_ready", other, get_dht_time(), ttl=30)
    t0 = time.monotonic()
    admission = join(dht, "full", "a", grace=60.0)
    assert admission.members == ("a", "b", "c")
    assert time.monotonic() - t0 < 30  # did not wait out the grace period


def test_quorum_starts_after_the_grace_period(dht: Any) -> None:
    from hivemind.utils import get_dht_time

    store(dht, "quorum_ready", "b", get_dht_time(), ttl=30)
    admission = join(dht, "quorum", "a", grace=1.0)
    assert admission.members == ("a", "b")
    # a third member that comes later is not admitted: it sits the round out
    with pytest.raises(LateForRoundError, match="sits this round out"):
        join(dht, "quorum", "c")


def test_stale_readiness_admits_nobody(dht: Any) -> None:
    from hivemind.utils import get_dht_time

    # a peer that waited, gave up and left: its entry is no longer refreshed and expires
    store(dht, "stale_ready", "gone", get_dht_time() - 100, ttl=0.5)
    time.sleep(1.0)
    with pytest.raises(BarrierTimeoutError, match="Only 1 of 2 peers"):
        join(dht, "stale", "late", expected=2, timeout=3.0)
