"""Bounded influence of one peer in the DiLoCo all-reduce (trainer/diloco.py)."""

from __future__ import annotations

import threading

import pytest
import torch

from trainer.config import DilocoConfig, HivemindConfig, TrainConfig
from trainer.dht import create_dht, visible_maddrs
from trainer.diloco import OuterSync, bound_pseudo_gradient, pseudo_gradient_bound
from trainer.replay import make_inner_optimizer


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_honest_pseudo_gradients_stay_inside_the_bound(weight_decay: float) -> None:
    """AdamW from the same start under wild gradient histories (spikes after silence, sign
    flips, heavy tails): the pseudo-gradient never leaves the bound, so honest averages are
    never clamped."""
    cfg = TrainConfig(weight_decay=weight_decay, diloco=DilocoConfig(inner_steps=8))
    gen = torch.Generator().manual_seed(0)
    for trial in range(30):
        start = torch.randn(64, generator=gen) * 3
        param = torch.nn.Parameter(start.clone())
        opt = make_inner_optimizer([param], cfg)
        for step in range(cfg.diloco.inner_steps):
            g = torch.randn(64, generator=gen) ** 3 * 10 ** (trial % 7 - 3)
            if trial % 3 == 0 and step < cfg.diloco.inner_steps - 1:
                g = torch.zeros(64)  # silence, then one spike
            param.grad = g
            opt.step()
        pseudo = start - param.detach()
        bound = pseudo_gradient_bound(cfg, [start])
        assert bound_pseudo_gradient([pseudo], bound)[1] == 0, (trial, pseudo.abs().max(), bound)


def test_a_poisoned_average_is_clamped_and_nans_dropped() -> None:
    tensors = [torch.tensor([0.1, -5.0, float("nan")]), torch.tensor([[1e9]])]
    out, clipped = bound_pseudo_gradient(tensors, 0.5)
    assert clipped == 3
    assert out[0].tolist() == [pytest.approx(0.1), -0.5, 0.0] and out[1].item() == 0.5


@pytest.mark.slow
def test_a_poisoning_peer_moves_the_honest_peers_no_more_than_an_honest_one() -> None:
    """Three real hivemind averagers: two honest peers and one that sends a pseudo-gradient a
    million times too large with a million times the weight. The honest peers still take the
    same outer step as each other, and it is no larger than the honest bound allows."""
    cfg = TrainConfig(
        learning_rate=1e-2,
        diloco=DilocoConfig(inner_steps=4, sync_wait=5.0, compression="none"),
        hivemind=HivemindConfig(averaging_timeout=30.0),
    )
    gen = torch.Generator().manual_seed(1)
    start = torch.randn(32, generator=gen)
    first = create_dht(cfg.hivemind)
    dhts = [first] + [create_dht(cfg.hivemind, visible_maddrs(first)) for _ in range(2)]
    params = [torch.nn.Parameter(start.clone()) for _ in range(3)]
    syncs = [
        OuterSync(cfg, dht=d, run_id="poison-test", params=[p], group_size=3)
        for d, p in zip(dhts, params, strict=True)
    ]
    bound = pseudo_gradient_bound(cfg, [start])
    with torch.no_grad():  # an honest inner phase moves each coordinate by at most the bound
        params[0].sub_(0.5 * bound)
        params[1].sub_(0.3 * bound)
        params[2].add_(1e6 * bound)  # the poisoner
    outcomes: list[object] = [None] * 3

    def run(i: int) -> None:
        outcomes[i] = syncs[i].sync(0, weight=1e6 if i == 2 else 16.0)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for s in syncs:
            s.shutdown()
        for d in dhts:
            d.shutdown()
    honest = [outcomes[0], outcomes[1]]
    assert all(o is not None and o.group_size == 3 for o in honest), outcomes  # type: ignore[attr-defined]
    assert all(o.clipped > 0 for o in honest)  # type: ignore[attr-defined]
    moved = [params[i].detach() - start for i in (0, 1)]
    assert torch.equal(moved[0], moved[1])  # they clamp alike: still one A_global
    d = cfg.diloco
    most = d.outer_lr * (1 + d.outer_momentum) * bound  # first outer step (Nesterov: lr (1 + m))
    assert float(moved[0].abs().max()) <= most * (1 + 1e-5)
