"""Tests of attn_helpers.validation: the argument checks every public function uses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attn_helpers.validation import check_choice, check_in_range, check_positive, check_tensor


# --------------------------------------------------------------------------- check_tensor


def test_check_tensor_returns_the_same_object() -> None:
    x = torch.zeros(2, 3)
    assert check_tensor("x", x, ndim=2, floating=True, shape=(2, 3)) is x


@pytest.mark.parametrize("value", [[1.0, 2.0], np.zeros(3), 1.0, None])
def test_check_tensor_rejects_non_tensors_naming_the_argument(value: object) -> None:
    with pytest.raises(TypeError, match=r"my_arg must be a torch\.Tensor"):
        check_tensor("my_arg", value)


def test_check_tensor_ndim_single_and_several() -> None:
    check_tensor("x", torch.zeros(4), ndim=1)
    check_tensor("x", torch.zeros(4), ndim=(1, 2))
    check_tensor("x", torch.zeros(4, 2), ndim=[1, 2])
    with pytest.raises(ValueError, match=r"x must be 1-D, got shape \(4, 2\) \(2-D\)"):
        check_tensor("x", torch.zeros(4, 2), ndim=1)
    with pytest.raises(ValueError, match=r"x must be 1 or 2-D"):
        check_tensor("x", torch.zeros(1, 2, 3), ndim=(1, 2))
    with pytest.raises(ValueError, match="x must be 1-D"):
        check_tensor("x", torch.tensor(1.0), ndim=1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_check_tensor_accepts_floating_dtypes(dtype: torch.dtype) -> None:
    check_tensor("x", torch.zeros(2, dtype=dtype), floating=True)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.uint8])
def test_check_tensor_rejects_non_floating_dtypes(dtype: torch.dtype) -> None:
    with pytest.raises(TypeError, match="weights must have a floating-point dtype"):
        check_tensor("weights", torch.zeros(2, dtype=dtype), floating=True)
    check_tensor("weights", torch.zeros(2, dtype=dtype))  # no dtype requirement: fine


def test_check_tensor_shape_with_wildcards() -> None:
    check_tensor("x", torch.zeros(3, 5), shape=(3, None))
    check_tensor("x", torch.zeros(7, 5), shape=(None, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(3, \*\), got \(4, 5\)"):
        check_tensor("x", torch.zeros(4, 5), shape=(3, None))
    with pytest.raises(ValueError, match=r"x must have shape \(3, \*\), got \(3,\)"):
        check_tensor("x", torch.zeros(3), shape=(3, None))  # wrong rank
    with pytest.raises(ValueError, match=r"must have shape"):
        check_tensor("x", torch.zeros(3, 5, 1), shape=(3, 5))


# ------------------------------------------------------------------------- check_positive


@pytest.mark.parametrize("value", [1, 0.5, 1e-30, 10**6, math.inf])
def test_check_positive_accepts_positive_numbers(value: float) -> None:
    check_positive("h", value)


@pytest.mark.parametrize("value", [0, 0.0, -1, -1e-9, -math.inf, math.nan])
def test_check_positive_rejects_non_positive_and_nan(value: float) -> None:
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        check_positive("bandwidth", value)


def test_check_positive_allow_zero() -> None:
    check_positive("noise", 0, allow_zero=True)
    check_positive("noise", 0.0, allow_zero=True)
    with pytest.raises(ValueError, match="noise must be >= 0, got -0.1"):
        check_positive("noise", -0.1, allow_zero=True)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        check_positive("noise", math.nan, allow_zero=True)


@pytest.mark.parametrize("value", [True, False, "1", None, torch.tensor(1.0), [1]])
def test_check_positive_rejects_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match="timeout must be a number"):
        check_positive("timeout", value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- check_in_range


def test_check_in_range_bounds_are_inclusive() -> None:
    for value in (0, 0.0, 0.5, 1, 1.0):
        check_in_range("p", value, 0.0, 1.0)
    for value in (-1e-9, 1.0000001, math.nan):
        with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\]"):
            check_in_range("p", value, 0.0, 1.0)


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_check_in_range_rejects_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match="dropout must be a number"):
        check_in_range("dropout", value, 0.0, 1.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- check_choice


def test_check_choice_returns_value_or_lists_choices() -> None:
    assert check_choice("kernel", "gaussian", ("gaussian", "boxcar")) == "gaussian"
    with pytest.raises(ValueError, match=r"kernel must be one of \['boxcar', 'gaussian'\], got 'cosine'"):
        check_choice("kernel", "cosine", ("gaussian", "boxcar"))
    with pytest.raises(ValueError, match="kernel must be one of"):
        check_choice("kernel", None, ("gaussian",))  # type: ignore[arg-type]
