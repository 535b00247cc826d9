"""Tests of attn_helpers.checkpoint: atomic saves, weights_only loads, RNG state."""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import attn_helpers.checkpoint as checkpoint_module
from attn_helpers import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint

UNPICKLED: list[str] = []


def _record_unpickling() -> "Smuggled":
    UNPICKLED.append("code ran")
    return Smuggled()


class Smuggled:
    """An arbitrary object; unpickling it would run ``_record_unpickling``."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _record_unpickling, ()


def _state() -> dict[str, Any]:
    return {
        "model": {"weight": torch.arange(6.0).reshape(2, 3), "bias": torch.tensor([1, 2])},
        "epoch": 3,
        "lr": 0.125,
        "name": "run",
        "history": {"train_loss": [1.0, 0.5], "val_metric": [float("nan")]},
        "flags": [True, None],
    }


def _assert_state_equal(loaded: dict[str, Any], expected: dict[str, Any]) -> None:
    assert loaded.keys() == expected.keys()
    for key in ("weight", "bias"):
        assert torch.equal(loaded["model"][key], expected["model"][key])
        assert loaded["model"][key].dtype == expected["model"][key].dtype
    assert (loaded["epoch"], loaded["lr"], loaded["name"]) == (3, 0.125, "run")
    assert loaded["history"]["train_loss"] == [1.0, 0.5]
    assert np.isnan(loaded["history"]["val_metric"][0])
    assert loaded["flags"] == [True, None]


def test_round_trip_and_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ckpt.pt"
    returned = save_checkpoint(_state(), path)
    assert returned == path and isinstance(returned, Path)
    _assert_state_equal(load_checkpoint(path), _state())
    _assert_state_equal(load_checkpoint(str(path)), _state())  # str paths work too
    assert sorted(p.name for p in path.parent.iterdir()) == ["ckpt.pt"]  # no leftovers


def test_save_overwrites_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"epoch": 1}, path)
    save_checkpoint({"epoch": 2}, str(path))
    assert load_checkpoint(path) == {"epoch": 2}


def test_load_maps_tensors_to_the_requested_device(tmp_path: Path) -> None:
    path = save_checkpoint({"t": torch.ones(2)}, tmp_path / "c.pt")
    assert load_checkpoint(path, map_location=torch.device("cpu"))["t"].device.type == "cpu"
    assert load_checkpoint(path, map_location="meta")["t"].device.type == "meta"


@pytest.mark.parametrize("state", [[1, 2], torch.ones(2), None, "state"])
def test_state_must_be_a_dict(tmp_path: Path, state: object) -> None:
    with pytest.raises(TypeError, match="state must be a dict"):
        save_checkpoint(state, tmp_path / "c.pt")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_checkpoint_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    path = tmp_path / "ckpt.pt"
    save_checkpoint(_state(), path)
    real_save = torch.save

    def save_half_then_fail(obj: object, handle: Any, *args: Any, **kwargs: Any) -> None:
        handle.write(b"PK\x03\x04 half a zip archive")  # partial bytes reach the temp file
        handle.flush()
        raise error

    monkeypatch.setattr(checkpoint_module.torch, "save", save_half_then_fail)
    with pytest.raises(type(error)):
        save_checkpoint({"epoch": 99, "model": {}}, path)
    monkeypatch.setattr(checkpoint_module.torch, "save", real_save)

    _assert_state_equal(load_checkpoint(path), _state())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_a_failed_first_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(checkpoint_module.torch, "save", fail)
    with pytest.raises(OSError, match="no space"):
        save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_arbitrary_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "handed_to_you.pt"
    torch.save({"x": Smuggled(), "w": torch.ones(1)}, path)  # a plain, non-weights file
    UNPICKLED.clear()
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only load failed"):
        load_checkpoint(path)
    assert UNPICKLED == []  # the object's code never ran
    torch.load(path, weights_only=False)  # the premise: a full unpickle would run it
    assert UNPICKLED == ["code ran"]


def test_missing_file_raises_file_not_found_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "ckpt.pt"
    with pytest.raises(FileNotFoundError, match=re.escape(repr(str(missing)))):
        load_checkpoint(missing)
    with pytest.raises(FileNotFoundError, match="path="):
        load_checkpoint(tmp_path)  # a folder is not a checkpoint either


# ------------------------------------------------------------------------------ RNG state


def _draw_everything() -> tuple[Any, ...]:
    return (
        random.random(), random.gauss(0.0, 1.0), random.randrange(10**9),
        np.random.rand(4).tolist(), np.random.randn(3).tolist(), np.random.randint(0, 10**9),
        torch.rand(4), torch.randn(3), torch.randperm(20),
    )


def _assert_same_draws(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    assert a[:6] == b[:6]
    for x, y in zip(a[6:], b[6:]):
        assert torch.equal(x, y)


def _put_generators_in_an_awkward_state() -> None:
    random.seed(5)
    random.gauss(0.0, 1.0)  # leaves a cached second Gaussian in Python's state
    np.random.seed(6)
    np.random.randn()  # leaves numpy's has_gauss/cached_gaussian set
    torch.manual_seed(7)
    torch.rand(3)


def test_capture_restore_reproduces_the_same_draws() -> None:
    _put_generators_in_an_awkward_state()
    state = capture_rng_state()
    first = _draw_everything()
    restore_rng_state(state)
    _assert_same_draws(_draw_everything(), first)


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path: Path) -> None:
    _put_generators_in_an_awkward_state()
    path = save_checkpoint({"rng": capture_rng_state()}, tmp_path / "rng.pt")
    first = _draw_everything()
    random.seed(0), np.random.seed(0), torch.manual_seed(0)  # scramble
    restore_rng_state(load_checkpoint(path)["rng"])
    _assert_same_draws(_draw_everything(), first)


def test_captured_state_has_the_documented_parts() -> None:
    state = capture_rng_state()
    assert {"python", "python_version", "python_gauss", "numpy", "torch"} <= state.keys()
    assert isinstance(state["numpy"][1], torch.Tensor) and state["numpy"][1].numel() == 624
    assert len(state["python"]) == 625
    assert ("cuda" in state) == torch.cuda.is_available()
