"""Tests of attn_helpers.data.regression1d: the synthetic data of chapter 1."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from attn_helpers import RegressionData, make_regression_data, target_function


def test_target_function_values() -> None:
    x = torch.tensor([0.0, math.pi / 2, math.pi, -1.0], dtype=torch.float64)
    expected = torch.tensor([0.0, 2 + 0.3 * math.pi, 0.6 * math.pi, -2 * math.sin(1.0) - 0.6], dtype=torch.float64)
    torch.testing.assert_close(target_function(x), expected)
    assert target_function(torch.zeros(2, 3)).shape == (2, 3)


def test_shapes_dtypes_and_ranges() -> None:
    data = make_regression_data(n_train=40, n_test=25, low=-2.0, high=3.0, seed=1)
    assert isinstance(data, RegressionData)
    for name, n in (("x_train", 40), ("y_train", 40), ("x_test", 25), ("y_test", 25)):
        tensor = getattr(data, name)
        assert tensor.shape == (n,) and tensor.dtype == torch.float32, name
    assert bool((data.x_train >= -2.0).all() and (data.x_train < 3.0).all())
    assert bool((data.x_train[1:] >= data.x_train[:-1]).all()), "keys are sorted"


def test_test_grid_is_the_midpoints_of_equal_cells_with_noise_free_targets() -> None:
    data = make_regression_data(n_train=10, n_test=5, low=0.0, high=5.0)
    torch.testing.assert_close(data.x_test, torch.tensor([0.5, 1.5, 2.5, 3.5, 4.5]))
    torch.testing.assert_close(data.y_test, target_function(data.x_test))


def test_noise_level() -> None:
    clean = make_regression_data(n_train=50, noise=0.0, seed=3)
    torch.testing.assert_close(clean.y_train, target_function(clean.x_train))
    noisy = make_regression_data(n_train=4000, noise=0.5, seed=3)
    residual = noisy.y_train - target_function(noisy.x_train)
    assert residual.mean().abs().item() < 0.05
    assert residual.std().item() == pytest.approx(0.5, rel=0.05)


def test_draw_depends_only_on_the_seed() -> None:
    torch.manual_seed(99)
    first = make_regression_data(seed=5)
    torch.rand(100)  # global generator state must not matter
    second = make_regression_data(seed=5)
    for field in dataclasses.fields(RegressionData):
        assert torch.equal(getattr(first, field.name), getattr(second, field.name)), field.name
    assert not torch.equal(make_regression_data(seed=6).x_train, first.x_train)


def test_regression_data_is_frozen() -> None:
    data = make_regression_data(n_train=3, n_test=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.x_train = torch.zeros(3)  # type: ignore[misc]


@pytest.mark.parametrize("argument", ["n_train", "n_test"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10", None])
def test_bad_sizes_raise_naming_the_argument(argument: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{argument} must be a positive int"):
        make_regression_data(**{argument: value})


@pytest.mark.parametrize("noise", [-0.1, float("nan")])
def test_negative_noise_raises(noise: float) -> None:
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_regression_data(noise=noise)


def test_non_numeric_noise_raises_type_error() -> None:
    with pytest.raises(TypeError, match="noise must be a number"):
        make_regression_data(noise="0.5")  # type: ignore[arg-type]


@pytest.mark.parametrize(("low", "high"), [(1.0, 1.0), (2.0, -2.0)])
def test_empty_interval_raises(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="high must be greater than low"):
        make_regression_data(low=low, high=high)
