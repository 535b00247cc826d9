"""time_forward_backward: runs a real step, returns a positive median, checks its arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_helpers.vision.latency import time_forward_backward


class CountingModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.conv(x)


def test_runs_warmup_plus_repeats_steps_and_leaves_no_gradients() -> None:
    model = CountingModel()
    seconds = time_forward_backward(model, (3, 8, 10), batch_size=2, repeats=4, warmup=2)
    assert seconds > 0
    assert model.calls == 6
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_backward_really_runs() -> None:
    model = CountingModel()
    seen = []
    model.conv.weight.register_hook(lambda grad: seen.append(grad.shape))
    time_forward_backward(model, (3, 6, 6), batch_size=1, repeats=1, warmup=0)
    assert seen == [model.conv.weight.shape]


class LayoutRecorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.layouts: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.layouts.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return self.conv(x)


@pytest.mark.parametrize("channels_last", [True, False])
def test_times_in_the_layout_training_uses(channels_last: bool) -> None:
    model = LayoutRecorder()
    time_forward_backward(model, (3, 6, 6), batch_size=2, repeats=1, warmup=0, channels_last=channels_last)
    assert model.layouts == [channels_last]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warmup"),
        ({"input_shape": (3, 0, 4)}, "input_shape"),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict, match: str) -> None:
    args = {"input_shape": (3, 4, 4)} | kwargs
    with pytest.raises(ValueError, match=match):
        time_forward_backward(CountingModel(), args.pop("input_shape"), **args)
