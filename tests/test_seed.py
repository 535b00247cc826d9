"""Tests of attn_helpers.seed.seed_everything."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from attn_helpers import seed_everything


def _draws() -> tuple[list[float], np.ndarray, torch.Tensor]:
    return [random.random() for _ in range(3)], np.random.rand(3), torch.rand(3)


def test_same_seed_gives_the_same_draws_in_python_numpy_and_torch() -> None:
    seed_everything(123)
    first = _draws()
    seed_everything(123)
    second = _draws()
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    assert torch.equal(first[2], second[2])


def test_different_seeds_give_different_draws() -> None:
    seed_everything(1)
    first = _draws()
    seed_everything(2)
    second = _draws()
    assert first[0] != second[0]
    assert not np.array_equal(first[1], second[1])
    assert not torch.equal(first[2], second[2])


def test_returned_generator_is_seeded_like_the_global_one() -> None:
    generator = seed_everything(7)
    assert isinstance(generator, torch.Generator)
    expected = torch.rand(5)  # the global generator right after seeding
    assert torch.equal(torch.rand(5, generator=generator), expected)


def test_returned_generator_does_not_depend_on_later_global_draws() -> None:
    generator = seed_everything(7)
    torch.rand(1000)  # e.g. a model initialisation consuming random numbers
    a = torch.randperm(10, generator=generator)
    assert torch.equal(a, torch.randperm(10, generator=seed_everything(7)))


def test_large_seed_is_accepted_by_numpy_too() -> None:
    seed_everything(2**40 + 5)  # numpy only takes 32-bit seeds: the helper reduces it
    a = np.random.rand()
    seed_everything(2**40 + 5)
    assert np.random.rand() == a


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0", None])
def test_bad_seed_raises_naming_the_argument(seed: object) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_everything(seed)  # type: ignore[arg-type]
