"""Tests of attn_helpers.vision.plan: a comparison's plan before it starts, its ETA once it has."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import attn_helpers as ah
import attn_helpers.vision.plan as plan_module
from attn_helpers.data.routes import DOWNLOAD_BYTES
from attn_helpers.vision.plan import T4_FLOPS, T4_SECONDS_PER_OP, count_step_ops


def _tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 10))


@pytest.fixture(scope="module")
def tiny_data() -> ah.VisionData:
    return ah.vision_data("offline", ah.get_profile("smoke"), canvas_size=16, digit_size=8, n_train=100,
                          n_test=30, batch_size=32)


def test_count_step_ops_counts_more_for_a_model_with_attention_and_leaves_it_untouched() -> None:
    baseline, se = ah.ResNetCifar(10), ah.ResNetCifar(10, block_attention=ah.SqueezeExcite)
    state = {k: v.clone() for k, v in se.state_dict().items()}
    forward, step = count_step_ops(baseline, (3, 16, 16))
    se_forward, se_step = count_step_ops(se, (3, 16, 16))
    assert 0 < forward < step and forward < se_forward and step < se_step
    assert all(torch.equal(state[k], v) for k, v in se.state_dict().items())  # counted on a copy


def test_plan_runs_arithmetic_and_the_estimate_by_hand() -> None:
    plan = ah.plan_runs({"a": _tiny, "b": _tiny}, seeds=range(3), epochs=4, steps_per_epoch=5, batch_size=8,
                        input_shape=(3, 16, 16), test_images=20, downloads={"CIFAR10": DOWNLOAD_BYTES["CIFAR10"]})
    assert plan.runs == 6 and plan.steps == 6 * 4 * 5 and plan.seeds == 3
    flops = ah.count_flops(_tiny(), (3, 16, 16))
    forward_ops, step_ops = count_step_ops(_tiny(), (3, 16, 16))
    by_hand = (20 * max(3 * flops * 8 / T4_FLOPS, step_ops * T4_SECONDS_PER_OP)
               + math.ceil(20 / 8) * max(flops * 8 / T4_FLOPS, forward_ops * T4_SECONDS_PER_OP))
    assert plan.t4_seconds_per_run == pytest.approx((by_hand, by_hand))
    assert plan.t4_seconds == pytest.approx(3 * 2 * by_hand)
    text = str(plan)
    assert "2 models (a, b) x 3 seeds x 4 epochs x 5 steps of 8 images = 120 steps" in text
    assert "CIFAR-10 0.17 GB" in text and "estimated time on a T4" in text
    assert "not measured on a T4" in text and "TFLOP/s" in text  # the estimate says how it was made


def test_plan_paired_reads_the_budget_and_the_download_from_the_data(tiny_data, monkeypatch) -> None:
    plan = ah.plan_paired({"baseline": lambda: ah.ResNetCifar(10)}, tiny_data, seeds=[0, 1], epochs=2)
    assert (plan.steps_per_epoch, plan.batch_size, plan.test_images) == (3, 32, 30)
    assert plan.downloads == () and "download: nothing" in str(plan)
    monkeypatch.setattr(tiny_data, "dataset", "stl10")  # what the real route's STL-10 data says
    assert "STL-10 2.64 GB the first time" in str(ah.plan_paired({"b": _tiny}, tiny_data, seeds=1, epochs=1))


def test_plan_bad_input(tiny_data) -> None:
    with pytest.raises(ValueError, match="builders"):
        ah.plan_runs({}, seeds=1, epochs=1, steps_per_epoch=1, batch_size=1, input_shape=(3, 8, 8), test_images=0)
    with pytest.raises(ValueError, match="epochs"):
        ah.plan_paired({"a": _tiny}, tiny_data, seeds=1, epochs=0)
    with pytest.raises(ValueError, match="seeds"):
        ah.plan_paired({"a": _tiny}, tiny_data, seeds=[], epochs=1)
    with pytest.raises(ValueError, match="test_images"):
        ah.plan_runs({"a": _tiny}, seeds=1, epochs=1, steps_per_epoch=1, batch_size=1, input_shape=(3, 8, 8),
                     test_images=-1)
    with pytest.raises(TypeError, match="data must be a VisionData"):
        ah.plan_paired({"a": _tiny}, "data", seeds=1, epochs=1)


def test_plan_runs_without_input_shape_plans_by_hand_and_says_there_is_no_estimate() -> None:
    # chapter 2's shape: 2 models x 1 seed x 6 epochs x 63 steps, fit's val_loader once per epoch
    plan = ah.plan_runs(["additive", "dot product"], seeds=[0], epochs=6, steps_per_epoch=63, batch_size=128,
                        input_shape=None, test_images=2000, unit="examples", test_passes=6)
    assert plan.runs == 2 and plan.steps == 2 * 6 * 63 == 756
    assert plan.t4_seconds_per_run is None and plan.t4_seconds is None
    assert str(plan).splitlines() == [
        "plan: 2 models (additive, dot product) x 1 seed x 6 epochs x 63 steps of 128 examples = 756 steps, "
        "and 12 test passes over 2,000 examples",
        "download: nothing (the data is made on this machine)",
        "estimated time on a T4: none (the estimate runs the model on images, and these models take other inputs); "
        "the progress bar shows the time left",
    ]
    built: list[str] = []  # nothing is built, so the global random stream is left alone
    no_test = ah.plan_runs({"nw": lambda: built.append("nw") or _tiny()}, seeds=1, epochs=300, steps_per_epoch=1,
                           batch_size=60, input_shape=None, test_images=0, unit="points")
    assert built == []
    assert str(no_test).splitlines()[0] == "plan: 1 model (nw) x 1 seed x 300 epochs x 1 step of 60 points = 300 steps"


def test_plan_runs_test_passes_multiply_the_test_time_only() -> None:
    once = ah.plan_runs({"a": _tiny}, seeds=1, epochs=2, steps_per_epoch=3, batch_size=8, input_shape=(3, 16, 16),
                        test_images=20)
    twice = ah.plan_runs({"a": _tiny}, seeds=1, epochs=2, steps_per_epoch=3, batch_size=8, input_shape=(3, 16, 16),
                         test_images=20, test_passes=2)
    none = ah.plan_runs({"a": _tiny}, seeds=1, epochs=2, steps_per_epoch=3, batch_size=8, input_shape=(3, 16, 16),
                        test_images=0)
    assert twice.t4_seconds - once.t4_seconds == pytest.approx(once.t4_seconds - none.t4_seconds)
    assert once.t4_seconds > none.t4_seconds and "2 test passes over 20 images" in str(twice)


def test_plan_runs_bad_input_without_images() -> None:
    budget = dict(seeds=1, epochs=1, steps_per_epoch=1, batch_size=1, test_images=0)
    with pytest.raises(TypeError, match="builders"):
        ah.plan_runs(["a"], input_shape=(3, 8, 8), **budget)  # an estimate needs the models
    with pytest.raises(TypeError, match="builders"):
        ah.plan_runs("ab", input_shape=None, **budget)
    with pytest.raises(ValueError, match="builders"):
        ah.plan_runs([], input_shape=None, **budget)
    with pytest.raises(ValueError, match="test_passes"):
        ah.plan_runs(["a"], input_shape=None, test_passes=0, **budget)
    with pytest.raises(TypeError, match="unit"):
        ah.plan_runs(["a"], input_shape=None, unit="", **budget)


def test_run_clock_eta_after_the_first_epoch_and_the_first_run(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(plan_module.time, "perf_counter", lambda: now[0])
    said: list[str] = []
    clock = ah.RunClock(runs=4, epochs=3, write=said.append)
    clock.run_start()
    now[0] += 2.0
    clock.epoch_end(1)
    clock.epoch_end(2)  # said once only
    assert said == ["ETA: first epoch 2.0 s; 11 epochs left at that pace: about 22 s"]
    now[0] += 4.0
    clock.run_end()
    assert said[1] == "ETA: first run 6.0 s; 3 runs left at that pace: about 18 s"
    clock.run_start()
    clock.epoch_end(1)
    clock.run_end()
    assert len(said) == 2


def test_run_clock_after_a_resumed_epoch_counts_only_the_epochs_left(monkeypatch) -> None:
    now = [0.0]
    monkeypatch.setattr(plan_module.time, "perf_counter", lambda: now[0])
    said: list[str] = []
    clock = ah.RunClock(runs=2, epochs=5, write=said.append)
    clock.run_start()
    now[0] += 3.0
    clock.epoch_end(4)  # epochs 1-3 came from a checkpoint
    assert said == ["ETA: first epoch 3.0 s; 6 epochs left at that pace: about 18 s"]


def test_train_paired_prints_the_eta_with_its_progress_bar(tiny_data, capsys) -> None:
    builders = {"a": lambda: ah.ResNetCifar(10, widths=(4, 4, 4)), "b": lambda: ah.ResNetCifar(10, widths=(4, 4, 4))}
    ah.train_paired(builders, tiny_data, seeds=[0], epochs=2, lr=0.05, device="cpu")
    out = capsys.readouterr().out
    assert "ETA: first epoch" in out and "3 epochs left" in out and "ETA: first run" in out and "1 runs left" in out
    ah.train_paired(builders, tiny_data, seeds=[0], epochs=2, lr=0.05, device="cpu", progress=False)
    assert "ETA" not in capsys.readouterr().out


def test_plan_names_single_counts_in_the_singular() -> None:
    plan = ah.plan_runs(["bandwidth"], seeds=1, epochs=1, steps_per_epoch=1, batch_size=60, input_shape=None,
                        test_images=50, unit="points")
    assert str(plan).splitlines()[0] == (
        "plan: 1 model (bandwidth) x 1 seed x 1 epoch x 1 step of 60 points = 1 step, and 1 test pass over 50 points")
