"""Tests of attn_helpers.attention_pooling (Nadaraya-Watson kernel regression).

The reference is the textbook formula evaluated with plain Python loops in float64:
``w_ij = K(||q_i - k_j|| / h) / sum_j' K(||q_i - k_j'|| / h)`` (a row of zeros when
the sum is 0), with the excluded key of each row left out of both sums.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from attn_helpers import (
    KERNELS,
    NadarayaWatsonRegression,
    attention_weights,
    average_pooling,
    boxcar_kernel,
    epanechnikov_kernel,
    fit,
    gaussian_kernel,
    make_regression_data,
    nadaraya_watson,
)

REFERENCE_KERNELS = {
    "gaussian": lambda u: math.exp(-0.5 * u * u),
    "boxcar": lambda u: 1.0 if abs(u) <= 1 else 0.0,
    "epanechnikov": lambda u: max(0.0, 1.0 - u * u),
}


def reference_weights(
    queries: torch.Tensor, keys: torch.Tensor, kernel: str, bandwidth: float,
    exclude_index: torch.Tensor | None = None,
) -> np.ndarray:
    q = queries.double().reshape(len(queries), -1).tolist()
    k = keys.double().reshape(len(keys), -1).tolist()
    weights = np.zeros((len(q), len(k)))
    for i, qi in enumerate(q):
        for j, kj in enumerate(k):
            if exclude_index is not None and int(exclude_index[i]) == j:
                continue
            distance = math.sqrt(sum((a - b) ** 2 for a, b in zip(qi, kj)))
            weights[i, j] = REFERENCE_KERNELS[kernel](distance / bandwidth)
        total = weights[i].sum()
        if total > 0:
            weights[i] /= total
    return weights


def _points(n: int, d: int | None, *, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (n,) if d is None else (n, d)
    return (5 * torch.rand(shape, generator=generator, dtype=torch.float64)).to(dtype)


# ---------------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("name", list(REFERENCE_KERNELS))
def test_kernels_against_their_formulas(name: str) -> None:
    u = torch.tensor([-2.0, -1.0, -0.999, -0.5, 0.0, 0.3, 1.0, 1.001, 3.0], dtype=torch.float64)
    expected = torch.tensor([REFERENCE_KERNELS[name](v) for v in u.tolist()], dtype=torch.float64)
    result = KERNELS[name](u)
    assert result.dtype == torch.float64 and result.shape == u.shape
    torch.testing.assert_close(result, expected, rtol=1e-12, atol=0)


def test_kernel_registry_and_key_values() -> None:
    assert KERNELS == {"gaussian": gaussian_kernel, "boxcar": boxcar_kernel, "epanechnikov": epanechnikov_kernel}
    assert gaussian_kernel(torch.tensor(0.0)).item() == 1.0
    assert boxcar_kernel(torch.tensor([1.0, -1.0])).tolist() == [1.0, 1.0]  # window edges included
    assert boxcar_kernel(torch.zeros(2, dtype=torch.float16)).dtype == torch.float16
    assert epanechnikov_kernel(torch.tensor([0.5, 1.0, 2.0])).tolist() == [0.75, 0.0, 0.0]


# ------------------------------------------------------------- weights vs the loop reference


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dim", [None, 1, 3], ids=["1d", "d=1", "d=3"])
@pytest.mark.parametrize("bandwidth", [0.3, 1.0, 2.5])
def test_weights_match_the_loop_reference_in_float64(kernel: str, dim: int | None, bandwidth: float) -> None:
    queries, keys = _points(7, dim, seed=1), _points(9, dim, seed=2)
    weights = attention_weights(queries, keys, kernel=kernel, bandwidth=bandwidth)
    assert weights.shape == (7, 9) and weights.dtype == torch.float64
    np.testing.assert_allclose(weights.numpy(), reference_weights(queries, keys, kernel, bandwidth),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_weights_match_the_loop_reference_in_float32(kernel: str) -> None:
    queries, keys = _points(20, None, seed=3, dtype=torch.float32), _points(30, None, seed=4, dtype=torch.float32)
    weights = attention_weights(queries, keys, kernel=kernel, bandwidth=0.7)
    assert weights.dtype == torch.float32
    np.testing.assert_allclose(weights.numpy(), reference_weights(queries, keys, kernel, 0.7), atol=2e-6)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_predictions_are_the_weighted_average_of_values(kernel: str) -> None:
    queries, keys = _points(6, 2, seed=5), _points(8, 2, seed=6)
    values_1d, values_2d = _points(8, None, seed=7), _points(8, 4, seed=8)
    expected_w = reference_weights(queries, keys, kernel, 1.2)
    for values in (values_1d, values_2d):
        predictions, weights = nadaraya_watson(queries, keys, values, kernel=kernel, bandwidth=1.2)
        assert predictions.shape == (6,) + tuple(values.shape[1:])
        assert torch.equal(weights, attention_weights(queries, keys, kernel=kernel, bandwidth=1.2))
        np.testing.assert_allclose(predictions.numpy(), expected_w @ values.numpy(), rtol=1e-12, atol=1e-13)


def test_gaussian_softmax_form_equals_the_kernel_ratio() -> None:
    data = make_regression_data(n_train=60, n_test=50, seed=0)
    queries, keys = data.x_test.double(), data.x_train.double()
    for h in (0.1, 0.5, 2.0):
        kernel_values = gaussian_kernel((queries[:, None] - keys[None, :]) / h)
        ratio = kernel_values / kernel_values.sum(dim=1, keepdim=True)
        torch.testing.assert_close(attention_weights(queries, keys, bandwidth=h), ratio, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_rows_sum_to_one_or_are_empty(kernel: str) -> None:
    data = make_regression_data(n_train=60, n_test=50, seed=0)
    weights = attention_weights(data.x_test, data.x_train, kernel=kernel, bandwidth=0.15)
    sums = weights.sum(dim=1)
    assert bool((weights >= 0).all())
    if kernel == "gaussian":
        torch.testing.assert_close(sums, torch.ones(50))
    else:
        assert bool(((sums - 1).abs() < 1e-5).logical_or(sums == 0).all())


def test_tensor_bandwidth_equals_float_bandwidth() -> None:
    queries, keys = _points(5, None, seed=9), _points(7, None, seed=10)
    for kernel in KERNELS:
        torch.testing.assert_close(
            attention_weights(queries, keys, kernel=kernel, bandwidth=torch.tensor(0.8, dtype=torch.float64)),
            attention_weights(queries, keys, kernel=kernel, bandwidth=0.8),
        )
    # a 1-element tensor of another floating dtype does not change the result dtype
    assert attention_weights(queries.float(), keys.float(), bandwidth=torch.tensor([0.8])).dtype == torch.float32


def test_huge_bandwidth_gives_average_pooling() -> None:
    queries, keys, values = _points(4, None, seed=11), _points(6, None, seed=12), _points(6, None, seed=13)
    predictions, weights = nadaraya_watson(queries, keys, values, bandwidth=1e8)
    avg_predictions, avg_weights = average_pooling(queries, keys, values)
    torch.testing.assert_close(weights, avg_weights)
    torch.testing.assert_close(predictions, avg_predictions)


def test_empty_queries_give_an_empty_weight_matrix() -> None:
    assert attention_weights(torch.zeros(0), torch.ones(3)).shape == (0, 3)


# ------------------------------------------------------------------ small bandwidths, no NaN


@pytest.mark.parametrize("kernel", ["boxcar", "epanechnikov"])
@pytest.mark.parametrize("bandwidth", [1e-3, 1e-12, 1e-30])
def test_compact_kernel_with_a_tiny_bandwidth_gives_zero_rows_not_nan(kernel: str, bandwidth: float) -> None:
    keys = torch.tensor([0.0, 1.0, 2.0])
    values = torch.tensor([5.0, 6.0, 7.0])
    queries = torch.tensor([0.5, 1.5, 10.0])  # no key within h of any query
    predictions, weights = nadaraya_watson(queries, keys, values, kernel=kernel, bandwidth=bandwidth)
    assert bool(weights.isfinite().all()) and bool(predictions.isfinite().all())
    assert torch.equal(weights, torch.zeros(3, 3))
    assert torch.equal(predictions, torch.zeros(3))


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_a_query_on_a_key_takes_its_value_as_h_goes_to_zero(kernel: str) -> None:
    keys = torch.tensor([0.0, 1.0, 2.0])
    weights = attention_weights(torch.tensor([1.0]), keys, kernel=kernel, bandwidth=1e-20)
    assert weights.tolist() == [[0.0, 1.0, 0.0]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bandwidth", [1e-2, 1e-10, 1e-20, 1e-30])
def test_gaussian_with_a_tiny_bandwidth_far_from_keys_stays_finite(dtype: torch.dtype, bandwidth: float) -> None:
    keys = torch.tensor([0.0, 1.0, 2.0], dtype=dtype)
    queries = torch.tensor([10.0, 100.0, -50.0, 0.5, 0.0], dtype=dtype)
    weights = attention_weights(queries, keys, bandwidth=bandwidth)
    assert bool(weights.isfinite().all())
    expected = torch.tensor(
        [[0, 0, 1], [0, 0, 1], [1, 0, 0], [0.5, 0.5, 0], [1, 0, 0]], dtype=dtype
    )  # all weight on the nearest key; a tie is split
    torch.testing.assert_close(weights, expected)


def test_gaussian_far_from_keys_gives_the_exact_ratio_where_the_naive_one_is_nan() -> None:
    keys = torch.tensor([0.0, 1.0], dtype=torch.float64)
    queries = torch.tensor([60.0, -60.0], dtype=torch.float64)
    kernel_values = gaussian_kernel((queries[:, None] - keys[None, :]) / 0.5)
    assert bool((kernel_values == 0).all())  # exp(-6962) underflows: the ratio would be 0/0
    weights = attention_weights(queries, keys, bandwidth=0.5)
    # K(60/h) / K(59/h) = exp(-0.5 (60^2 - 59^2) / h^2) = exp(-238); for -60: exp(-242)
    assert weights[0].tolist() == [pytest.approx(1 / (1 + math.exp(238)), rel=1e-9), 1.0]
    assert weights[1].tolist() == [1.0, pytest.approx(1 / (1 + math.exp(242)), rel=1e-9)]


# -------------------------------------------------------------------------- leave-one-out


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_exclude_index_zeroes_the_excluded_key(kernel: str) -> None:
    keys = _points(12, None, seed=14)
    exclude = torch.arange(12)
    weights = attention_weights(keys, keys, kernel=kernel, bandwidth=0.8, exclude_index=exclude)
    assert bool((weights.diagonal() == 0).all())  # exactly 0, not just small
    np.testing.assert_allclose(weights.numpy(), reference_weights(keys, keys, kernel, 0.8, exclude),
                               rtol=1e-12, atol=1e-14)
    if kernel == "gaussian":
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(12, dtype=torch.float64))


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_leave_one_out_equals_dropping_the_key(kernel: str) -> None:
    keys, values = _points(10, None, seed=15), _points(10, None, seed=16)
    loo, _ = nadaraya_watson(keys, keys, values, kernel=kernel, bandwidth=1.1, exclude_index=torch.arange(10))
    for i in range(10):
        keep = torch.arange(10) != i
        alone, _ = nadaraya_watson(keys[i : i + 1], keys[keep], values[keep], kernel=kernel, bandwidth=1.1)
        torch.testing.assert_close(loo[i : i + 1], alone, rtol=1e-12, atol=1e-14)


def test_exclude_index_with_arbitrary_targets_and_int32() -> None:
    queries, keys = _points(4, None, seed=17), _points(5, None, seed=18)
    exclude = torch.tensor([4, 0, 0, 2], dtype=torch.int32)
    weights = attention_weights(queries, keys, exclude_index=exclude, bandwidth=10.0)
    assert [weights[i, int(j)].item() for i, j in enumerate(exclude)] == [0.0] * 4
    np.testing.assert_allclose(weights.numpy(), reference_weights(queries, keys, "gaussian", 10.0, exclude),
                               rtol=1e-12)


def test_exclude_index_with_a_tiny_bandwidth_moves_to_the_next_nearest_key() -> None:
    keys = torch.tensor([0.0, 1.0, 3.0])
    weights = attention_weights(keys, keys, bandwidth=1e-25, exclude_index=torch.arange(3))
    assert weights.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


@pytest.mark.parametrize(
    ("exclude_index", "error", "message"),
    [
        (torch.arange(4), ValueError, r"exclude_index must have shape \(3\)"),
        (torch.zeros(3, 1, dtype=torch.long), ValueError, r"exclude_index must have shape \(3\)"),
        (torch.tensor([0.0, 1.0, 2.0]), TypeError, "exclude_index must be an integer tensor"),
        (torch.tensor([True, False, True]), TypeError, "exclude_index must be an integer tensor"),
        (torch.tensor([0, 1, 5]), ValueError, r"exclude_index entries must be in \[0, 4\]"),
        (torch.tensor([0, -1, 2]), ValueError, r"exclude_index entries must be in \[0, 4\]"),
        ([0, 1, 2], TypeError, "exclude_index must be a torch.Tensor"),
    ],
)
def test_bad_exclude_index_raises(exclude_index: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        attention_weights(torch.rand(3), torch.rand(5), exclude_index=exclude_index)  # type: ignore[arg-type]


def test_exclude_index_needs_two_keys() -> None:
    with pytest.raises(ValueError, match="exclude_index needs at least 2 keys"):
        attention_weights(torch.rand(3), torch.rand(1), exclude_index=torch.zeros(3, dtype=torch.long))


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("bandwidth", "error"),
    [(0.0, ValueError), (-0.5, ValueError), (float("nan"), ValueError), (0, ValueError),
     (torch.tensor(0.0), ValueError), (torch.tensor(-1.0), ValueError), (torch.tensor(float("nan")), ValueError),
     (torch.tensor([1.0, 2.0]), ValueError), ("1.0", TypeError), (None, TypeError), (True, TypeError)],
)
def test_bad_bandwidth_raises_naming_it(bandwidth: object, error: type[Exception]) -> None:
    for kernel in KERNELS:
        with pytest.raises(error, match="bandwidth must be"):
            attention_weights(torch.rand(3), torch.rand(4), kernel=kernel, bandwidth=bandwidth)  # type: ignore
        with pytest.raises(error, match="bandwidth must be"):
            nadaraya_watson(
                torch.rand(3), torch.rand(4), torch.rand(4), kernel=kernel, bandwidth=bandwidth  # type: ignore
            )


@pytest.mark.parametrize("kernel", ["Gaussian", "cosine", "", "triangular"])
def test_unknown_kernel_raises_naming_it(kernel: str) -> None:
    with pytest.raises(ValueError, match=r"kernel must be one of \['boxcar', 'epanechnikov', 'gaussian'\]"):
        attention_weights(torch.rand(3), torch.rand(4), kernel=kernel)
    with pytest.raises(ValueError, match="kernel must be one of"):
        nadaraya_watson(torch.rand(3), torch.rand(4), torch.rand(4), kernel=kernel)


@pytest.mark.parametrize(
    ("queries", "keys", "error", "message"),
    [
        (torch.rand(2, 3, 1), torch.rand(4), ValueError, r"queries must be 1 or 2-D"),
        (torch.tensor(1.0), torch.rand(4), ValueError, r"queries must be 1 or 2-D"),
        (torch.rand(3), torch.rand(4, 2, 1), ValueError, r"keys must be 1 or 2-D"),
        (torch.arange(3), torch.rand(4), TypeError, "queries must have a floating-point dtype"),
        (torch.rand(3), torch.arange(4), TypeError, "keys must have a floating-point dtype"),
        ([0.1, 0.2], torch.rand(4), TypeError, r"queries must be a torch\.Tensor"),
        (torch.rand(3), np.ones(4), TypeError, r"keys must be a torch\.Tensor"),
        (torch.rand(3, 2), torch.rand(4, 3), ValueError, "queries and keys must have the same feature size"),
        (torch.rand(3), torch.rand(4, 2), ValueError, "same feature size, got 1 and 2"),
        (torch.rand(3, dtype=torch.float64), torch.rand(4), TypeError, "queries must have the dtype of keys"),
    ],
)
def test_bad_queries_or_keys_raise_naming_them(
    queries: object, keys: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        attention_weights(queries, keys)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("keys", "values", "error", "message"),
    [
        (torch.rand(4), torch.rand(5), ValueError, r"values must have one row per key \(4\), got 5"),
        (torch.rand(4), torch.rand(4, 2, 1), ValueError, "values must be 1 or 2-D"),
        (torch.rand(4), torch.arange(4), TypeError, "values must have a floating-point dtype"),
        (torch.rand(4), [1.0, 2.0, 3.0, 4.0], TypeError, r"values must be a torch\.Tensor"),
        (torch.rand(4), torch.rand(4, dtype=torch.float64), TypeError, "values must have the dtype of keys"),
        ([0.0, 1.0, 2.0, 3.0], torch.rand(4), TypeError, r"keys must be a torch\.Tensor"),
        (torch.arange(4), torch.rand(4), TypeError, "keys must have a floating-point dtype"),
    ],
)
def test_bad_values_raise_naming_them(keys: object, values: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        nadaraya_watson(torch.rand(3), keys, values)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- average_pooling


def test_average_pooling_ignores_the_query() -> None:
    keys, values = _points(5, None, seed=19), _points(5, 3, seed=20)
    predictions, weights = average_pooling(_points(4, None, seed=21), keys, values)
    assert weights.shape == (4, 5) and bool((weights == 0.2).all())
    assert predictions.shape == (4, 3)
    torch.testing.assert_close(predictions, values.mean(dim=0).expand(4, 3))
    other, _ = average_pooling(_points(4, None, seed=22) + 100, keys, values)
    torch.testing.assert_close(other, predictions)
    predictions_1d, _ = average_pooling(torch.rand(2), torch.rand(5), torch.arange(5.0))
    assert predictions_1d.tolist() == [2.0, 2.0]


def test_average_pooling_keeps_the_values_device_and_dtype() -> None:
    q, k, v = (torch.empty(n, device="meta", dtype=torch.float64) for n in (3, 4, 4))
    predictions, weights = average_pooling(q, k, v)
    assert predictions.device.type == weights.device.type == "meta"
    assert weights.dtype == torch.float64


@pytest.mark.parametrize(
    ("queries", "keys", "values", "error", "message"),
    [
        (torch.rand(3), torch.rand(4), torch.rand(5), ValueError, "values must have one row per key"),
        (torch.arange(3), torch.rand(4), torch.rand(4), TypeError, "queries must have a floating-point dtype"),
        (torch.rand(3), torch.rand(4, 1, 1), torch.rand(4), ValueError, "keys must be 1 or 2-D"),
        (torch.rand(3), torch.rand(4), torch.arange(4), TypeError, "values must have a floating-point dtype"),
    ],
)
def test_average_pooling_bad_input(queries, keys, values, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        average_pooling(queries, keys, values)


# ---------------------------------------------------------------- NadarayaWatsonRegression


def test_module_parameters_buffers_and_bandwidth() -> None:
    keys, values = _points(6, None, seed=23, dtype=torch.float32), _points(6, None, seed=24, dtype=torch.float32)
    model = NadarayaWatsonRegression(keys, values, init_bandwidth=0.7)
    assert [name for name, _ in model.named_parameters()] == ["log_bandwidth"]
    assert set(dict(model.named_buffers())) == {"keys", "values"}
    assert model.bandwidth.item() == pytest.approx(0.7, rel=1e-6)
    assert model.bandwidth.dim() == 0 and model.log_bandwidth.dtype == torch.float32
    assert model.attention_weights is None
    keys.add_(1.0)  # the module keeps its own copy
    assert not torch.equal(model.keys, keys)


def test_module_forward_matches_nadaraya_watson_and_keeps_weights() -> None:
    keys, values = _points(8, None, seed=25), _points(8, 2, seed=26)
    queries = _points(5, None, seed=27)
    model = NadarayaWatsonRegression(keys, values, init_bandwidth=0.4)
    assert model.log_bandwidth.dtype == torch.float64
    predictions = model(queries)
    expected, expected_weights = nadaraya_watson(queries, keys, values, bandwidth=0.4)
    torch.testing.assert_close(predictions, expected)
    torch.testing.assert_close(model.attention_weights, expected_weights)
    assert not model.attention_weights.requires_grad
    loo = model(keys, torch.arange(8))
    assert bool((model.attention_weights.diagonal() == 0).all())
    assert loo.shape == (8, 2)


@pytest.mark.parametrize("use_exclude", [False, True])
def test_bandwidth_gradient_matches_gradcheck_in_float64(use_exclude: bool) -> None:
    keys, values = _points(9, None, seed=28), _points(9, None, seed=29)
    model = NadarayaWatsonRegression(keys, values, init_bandwidth=0.6)
    queries = keys if use_exclude else _points(5, None, seed=30)
    exclude = torch.arange(9) if use_exclude else None

    def predictions(log_bandwidth: torch.Tensor) -> torch.Tensor:
        return functional_call(model, {"log_bandwidth": log_bandwidth}, (queries, exclude))

    log_h = model.log_bandwidth.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(predictions, (log_h,), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("log_bandwidth", [-20.0, -5.0, 0.0, 5.0])  # h from 2e-9 to 148
def test_bandwidth_gradient_is_finite_even_at_extreme_bandwidths(log_bandwidth: float) -> None:
    keys, values = _points(10, None, seed=31, dtype=torch.float32), _points(10, None, seed=32, dtype=torch.float32)
    model = NadarayaWatsonRegression(keys, values)
    with torch.no_grad():
        model.log_bandwidth.fill_(log_bandwidth)
    for queries, exclude in ((keys, torch.arange(10)), (keys, None), (torch.tensor([100.0, -3.0]), None)):
        model.zero_grad()
        loss = (model(queries, exclude) - 1.0).square().mean()
        loss.backward()
        assert math.isfinite(loss.item())
        assert math.isfinite(model.log_bandwidth.grad.item())


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_weights_gradient_for_a_query_on_a_key_is_finite(kernel: str) -> None:
    keys = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    bandwidth = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda h: attention_weights(keys, keys, kernel=kernel, bandwidth=h), (bandwidth,)
    )


def test_leave_one_out_training_with_fit_learns_a_sensible_bandwidth() -> None:
    data = make_regression_data(n_train=60, n_test=50, seed=0)
    model = NadarayaWatsonRegression(data.x_train, data.y_train, init_bandwidth=2.0)
    batch = ((data.x_train, torch.arange(60)), data.y_train)  # model(queries, exclude_index)
    history = fit(model, [batch], loss_fn=nn.functional.mse_loss,
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.05), epochs=60, progress=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert 0.05 < model.bandwidth.item() < 1.0
    with torch.no_grad():
        test_mse = nn.functional.mse_loss(model(data.x_test), data.y_test).item()
        avg_predictions, _ = average_pooling(data.x_test, data.x_train, data.y_train)
        avg_mse = nn.functional.mse_loss(avg_predictions, data.y_test).item()
    assert test_mse < 0.25 * avg_mse


@pytest.mark.parametrize(
    ("keys", "values", "init_bandwidth", "error", "message"),
    [
        (torch.rand(4), torch.rand(4), 0.0, ValueError, "init_bandwidth must be > 0"),
        (torch.rand(4), torch.rand(4), -1.0, ValueError, "init_bandwidth must be > 0"),
        (torch.rand(4), torch.rand(4), "1", TypeError, "init_bandwidth must be a number"),
        (torch.rand(4), torch.rand(3), 1.0, ValueError, "values must have one row per key"),
        (torch.arange(4), torch.rand(4), 1.0, TypeError, "keys must have a floating-point dtype"),
        (torch.rand(4, 1, 1), torch.rand(4), 1.0, ValueError, "keys must be 1 or 2-D"),
        ([1.0, 2.0], torch.rand(2), 1.0, TypeError, r"keys must be a torch\.Tensor"),
    ],
)
def test_module_bad_construction(keys, values, init_bandwidth, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        NadarayaWatsonRegression(keys, values, init_bandwidth=init_bandwidth)


def test_module_forward_bad_queries() -> None:
    model = NadarayaWatsonRegression(torch.rand(4), torch.rand(4))
    with pytest.raises(TypeError, match="queries must have the dtype of keys"):
        model(torch.rand(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="same feature size"):
        model(torch.rand(3, 2))
    with pytest.raises(ValueError, match="exclude_index must have shape"):
        model(torch.rand(3), torch.arange(4))


# ------------------------------------------------------------------------- empty keys


def test_empty_keys_and_values_are_named_not_answered_with_zeros() -> None:
    # nadaraya_watson used to return all-zero predictions here, average_pooling to divide by zero
    queries, no_keys, no_values = torch.rand(3), torch.zeros(0), torch.zeros(0)
    for call in (
        lambda: nadaraya_watson(queries, no_keys, no_values),
        lambda: nadaraya_watson(queries, no_keys, no_values, kernel="boxcar"),
        lambda: attention_weights(torch.rand(3, 2), torch.zeros(0, 2)),
        lambda: average_pooling(queries, no_keys, no_values),
        lambda: NadarayaWatsonRegression(no_keys, no_values),
    ):
        with pytest.raises(ValueError, match=r"keys must hold at least one point \(n_k >= 1\), got shape \(0,?"):
            call()


def test_a_tensor_bandwidth_is_checked_on_the_cpu_only() -> None:
    # On the CPU reading its value is free; on a GPU it would stall every call (NaN policy instead).
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        attention_weights(torch.rand(3), torch.rand(4), bandwidth=torch.tensor(0.0))
    weights = attention_weights(torch.rand(3, device="meta"), torch.rand(4, device="meta"),
                                bandwidth=torch.tensor(0.0, device="meta"))
    assert weights.shape == (3, 4)  # not read, not refused


def test_exclude_index_range_is_checked_on_the_cpu_only() -> None:
    with pytest.raises(ValueError, match=r"exclude_index entries must be in \[0, 3\]"):
        attention_weights(torch.rand(2), torch.rand(4), exclude_index=torch.tensor([0, 4]))
    weights = attention_weights(torch.rand(2, device="meta"), torch.rand(4, device="meta"),
                                exclude_index=torch.tensor([0, 4], device="meta"))
    assert weights.shape == (2, 4)  # not read on a non-CPU device
