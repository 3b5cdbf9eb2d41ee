"""The outer step of trainer/diloco.py on a known pseudo-gradient (no network)."""

from __future__ import annotations

import pytest
import torch

from trainer.config import DilocoConfig, TrainConfig
from trainer.diloco import OuterSync


def _sync(outer_lr: float, momentum: float, nesterov: bool) -> tuple[OuterSync, torch.Tensor]:
    cfg = TrainConfig(
        learning_rate=1e-2,
        diloco=DilocoConfig(
            inner_steps=4, outer_lr=outer_lr, outer_momentum=momentum, outer_nesterov=nesterov
        ),
    )
    param = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 8))
    return OuterSync(cfg, dht=None, run_id="t", params=[param], group_size=1), param


@pytest.mark.parametrize(
    ("outer_lr", "momentum", "nesterov", "first", "second"),
    [
        # SGD with momentum m on a constant pseudo-gradient g: buf = g, then m g + g
        (0.7, 0.9, True, 0.7 * 1.9, 0.7 * (1 + 0.9 * 1.9)),  # Nesterov: g + m buf
        (0.7, 0.9, False, 0.7, 0.7 * 1.9),  # heavy ball: buf
        (1.2, 0.0, True, 1.2, 1.2),  # no momentum: Nesterov is moot (no torch error)
    ],
)
def test_outer_step_moves_a_global_by_the_outer_optimizer(
    outer_lr: float, momentum: float, nesterov: bool, first: float, second: float
) -> None:
    sync, param = _sync(outer_lr, momentum, nesterov)
    start = param.detach().clone()
    g = torch.full((8,), 0.01)  # inside the honest bound (4 steps x lr 1e-2 x 4 = 0.16)
    for expected_total in (first, first + second):
        with torch.no_grad():
            param.sub_(g)  # the inner steps moved A_local by -g: pseudo-gradient g
        assert torch.allclose(sync.pseudo_gradient()[0], g, atol=1e-7)
        assert sync.apply(0, [g]) == 0
        # the working weights are A_global again, moved by the outer step alone
        assert torch.equal(param.detach(), sync.global_params[0].detach())
        assert torch.allclose(param.detach(), start - expected_total * g, atol=1e-6)


def test_outer_step_clamps_a_pseudo_gradient_beyond_the_honest_bound() -> None:
    sync, param = _sync(1.0, 0.0, True)
    start = param.detach().clone()
    assert sync.apply(0, [torch.full((8,), 10.0)]) == 8
    assert torch.allclose(start - param.detach(), torch.full((8,), 0.16), atol=1e-6)
