"""Tests of attn_helpers.validation: the argument checks every public function uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from attn_helpers.validation import (
    check_batchnorm_batch,
    check_choice,
    check_device,
    check_dtype,
    check_feature_map,
    check_file_path,
    check_image_size,
    check_in_range,
    check_int,
    check_ints,
    check_positive,
    check_tensor,
    check_tokens,
    values_are_cheap,
)


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


# ------------------------------------------------------------------------------ check_int


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(1)])
def test_check_int_returns_a_python_int(value: object) -> None:
    result = check_int("n", value, 1)
    assert result == int(value) and type(result) is int  # noqa: E721


@pytest.mark.parametrize("value", [2.5, 2.0, True, np.bool_(True), "3", None, torch.tensor(3)])
def test_check_int_refuses_what_is_not_an_int_naming_the_argument(value: object) -> None:
    with pytest.raises(ValueError, match=r"max_len must be a positive int, got "):
        check_int("max_len", value, 1)


@pytest.mark.parametrize(("low", "high", "value", "message"), [
    (1, None, 0, r"n must be a positive int, got 0"),
    (0, None, -1, r"seed must be a non-negative int, got -1"),
    (2, None, 1, r"num_branches must be an int >= 2, got 1"),
    (4, 8, 9, r"digit_size must be an int in \[4, 8\], got 9"),
    (None, 3, 4, r"k must be an int <= 3, got 4"),
])
def test_check_int_bounds_are_inclusive_and_named(low: int | None, high: int | None, value: int, message: str) -> None:
    name = message.split(" ")[0]
    with pytest.raises(ValueError, match=message):
        check_int(name, value, low, high)
    edge = low if low is not None else high
    assert check_int(name, edge, low, high) == edge


def test_check_ints_length_and_items() -> None:
    assert check_ints("widths", [32, np.int64(64)]) == (32, 64)
    assert check_ints("widths", (1, 2, 3, 4), length=4) == (1, 2, 3, 4)
    for bad in ([], (1, 0), (1, 2.5), "12", 3, None):
        with pytest.raises(ValueError, match="widths must be a non-empty sequence of positive ints"):
            check_ints("widths", bad)
    with pytest.raises(ValueError, match=r"widths must be 4 positive ints, got \(1, 2, 3\)"):
        check_ints("widths", (1, 2, 3), length=4)


# --------------------------------------------------------------------------- check_device


@pytest.mark.parametrize("value", ["cpu", "cpu:0", torch.device("cpu")])
def test_check_device_returns_a_torch_device(value: object) -> None:
    assert check_device("device", value).type == "cpu"


@pytest.mark.parametrize("value", ["tpu", "gpu", "", "cuda:x"])
def test_check_device_refuses_strings_that_name_no_device(value: str) -> None:
    with pytest.raises(ValueError, match=r"device=.* is not a device"):
        check_device("device", value)


@pytest.mark.parametrize("value", [3.5, None, 0, ["cpu"]])
def test_check_device_refuses_other_types(value: object) -> None:
    with pytest.raises(ValueError, match=r"device=.* is not a device: give a torch.device or a string"):
        check_device("device", value)


@pytest.mark.parametrize("value", ["meta", "xla", torch.device("meta")])
def test_check_device_refuses_devices_the_book_does_not_run_on(value: object) -> None:
    with pytest.raises(ValueError, match=r"device='(meta|xla)' is not a device this book runs on"):
        check_device("device", value)


def test_check_device_availability_is_checked_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' but CUDA is not available here"):
        check_device("device", "cuda")
    with pytest.raises(ValueError, match="device='mps' but MPS is not available here"):
        check_device("device", "mps")
    assert check_device("device", "cuda:1", available=False) == torch.device("cuda", 1)


# ---------------------------------------------------------------------------- check_dtype


def test_check_dtype_names_the_argument_and_the_owner() -> None:
    check_dtype("x", torch.zeros(2), torch.float32, source="SqueezeExcite's parameters")
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of SqueezeExcite's "
                                        r"parameters\), got torch.float64"):
        check_dtype("x", torch.zeros(2, dtype=torch.float64), torch.float32, source="SqueezeExcite's parameters")


def test_check_dtype_leaves_the_cast_to_autocast_where_autocast_casts() -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        check_dtype("x", torch.zeros(2, dtype=torch.bfloat16), torch.float32)
        check_dtype("x", torch.zeros(2), torch.bfloat16)
        with pytest.raises(TypeError, match="x must have dtype torch.float32"):  # autocast leaves float64 alone
            check_dtype("x", torch.zeros(2, dtype=torch.float64), torch.float32)
    with pytest.raises(TypeError, match="x must have dtype torch.float32"):
        check_dtype("x", torch.zeros(2, dtype=torch.bfloat16), torch.float32)  # autocast off again


def test_check_dtype_on_a_device_autocast_does_not_know() -> None:
    with pytest.raises(TypeError, match="x must have dtype torch.float64"):
        check_dtype("x", torch.zeros(2, device="meta"), torch.float64)


# ---------------------------------------------------------------------- check_feature_map


def test_check_feature_map_accepts_any_channels_unless_given() -> None:
    x = torch.zeros(2, 3, 4, 5)
    assert check_feature_map("x", x) is x
    assert check_feature_map("x", x, 3) is x
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4, H, W\), got \(2, 3, 4, 5\)"):
        check_feature_map("x", x, 4)


@pytest.mark.parametrize("shape", [(2, 3, 0, 5), (2, 3, 4, 0)])
def test_check_feature_map_refuses_an_empty_map(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"local_features must have at least one position \(H, W >= 1\)"):
        check_feature_map("local_features", torch.zeros(shape))


def test_check_feature_map_refuses_wrong_rank_and_integers() -> None:
    with pytest.raises(ValueError, match="x must be 4-D"):
        check_feature_map("x", torch.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        check_feature_map("x", torch.zeros(2, 3, 4, 4, dtype=torch.int64))


# ------------------------------------------------------------------ check_batchnorm_batch


def test_check_batchnorm_batch_refuses_one_sample_in_training_only() -> None:
    one = torch.zeros(1, 4, 3, 3)
    with pytest.raises(ValueError, match=r"x must have a batch of at least 2 in training mode: BAM's channel branch"):
        check_batchnorm_batch("x", one, True, owner="BAM's channel branch")
    check_batchnorm_batch("x", one, False, owner="BAM's channel branch")  # eval: running statistics
    check_batchnorm_batch("x", torch.zeros(2, 4, 3, 3), True, owner="BAM's channel branch")
    # the premise: torch's own message names neither the argument nor the module
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(4).train()(torch.zeros(1, 4))


# ------------------------------------------------------------------------ check_file_path


def test_check_file_path_accepts_new_and_existing_files(tmp_path: Path) -> None:
    assert check_file_path("path", str(tmp_path / "new.pt")) == tmp_path / "new.pt"
    (tmp_path / "old.pt").write_bytes(b"x")
    assert check_file_path("path", tmp_path / "old.pt") == tmp_path / "old.pt"


def test_check_file_path_refuses_directories_and_other_types(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="checkpoint_path=.* is a directory; give a file path such as"):
        check_file_path("checkpoint_path", tmp_path)
    with pytest.raises(TypeError, match="checkpoint_path must be a file path"):
        check_file_path("checkpoint_path", 3)


def test_values_are_cheap_only_on_the_cpu() -> None:
    assert values_are_cheap(torch.zeros(2))
    assert not values_are_cheap(torch.zeros(2, device="meta"))  # stands in for a GPU tensor here


# ----------------------------------------------------------------------- check_image_size


def test_check_image_size_square_or_pair() -> None:
    assert check_image_size("image_size", 32) == (32, 32)
    assert check_image_size("image_size", (24, np.int64(32))) == (24, 32)
    for bad in (0, True, 2.5, (3,), (3, 0), (3, 4, 5), (3, 2.0), "ab", None):
        with pytest.raises(ValueError, match=r"map_size must be an int or \(height, width\) of positive ints"):
            check_image_size("map_size", bad)


# ---------------------------------------------------------------------------- check_tokens


def test_check_tokens_accepts_ids_in_range_and_names_the_argument() -> None:
    tokens = torch.tensor([[0, 4], [2, 1]])
    assert check_tokens("sources", tokens, 5) is tokens
    with pytest.raises(TypeError, match="sources must have an integer dtype"):
        check_tokens("sources", tokens.float(), 5)
    with pytest.raises(TypeError, match="sources must have an integer dtype"):
        check_tokens("sources", tokens.bool(), 5)
    with pytest.raises(ValueError, match="sources must be 2-D"):
        check_tokens("sources", tokens[0], 5)
    with pytest.raises(ValueError, match=r"sources must lie in \[0, 3\]"):
        check_tokens("sources", tokens, 4)
    with pytest.raises(ValueError, match=r"sources must lie in \[0, 4\]"):
        check_tokens("sources", -tokens, 5)
