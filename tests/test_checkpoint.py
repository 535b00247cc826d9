"""Tests of attn_helpers.checkpoint: atomic saves, weights_only loads, RNG state."""

from __future__ import annotations

import collections
import os
import pickle
import random
import re
import signal
import subprocess
import sys
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


# ------------------------------------------------------------------ wrong files, wrong paths


def test_an_empty_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")  # what a write killed before its first byte leaves (EOFError before)
    with pytest.raises(ValueError, match=re.escape(f"path={str(path)!r} is an empty file (0 bytes)")):
        load_checkpoint(path)


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    path = save_checkpoint(_state(), tmp_path / "ckpt.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=re.escape(f"path={str(path)!r} could not be loaded as a checkpoint")):
        load_checkpoint(path)


def test_a_file_that_is_not_a_torch_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("not a checkpoint")
    with pytest.raises(pickle.UnpicklingError, match=re.escape(f"path={str(path)!r}")):
        load_checkpoint(path)


def test_a_directory_as_the_save_path_is_named(tmp_path: Path) -> None:
    # used to end in IsADirectoryError about the temporary file
    with pytest.raises(IsADirectoryError, match=re.escape(f"path={str(tmp_path)!r} is a directory")):
        save_checkpoint({"epoch": 1}, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("state", "where", "kind"), [
    ({"model": {"w": torch.ones(1)}, "note": Smuggled()}, "state['note']", "Smuggled"),
    ({"rng": {"numpy": np.zeros(3)}}, "state['rng']['numpy']", "numpy.ndarray"),
    ({"history": {"loss": [1.0, np.float64(0.5)]}}, r"state['history']['loss'][1]", "numpy.float64"),
    ({"scheduler": {"fn": len}}, "state['scheduler']['fn']", "builtin_function_or_method"),
    ({"counts": collections.Counter(a=1)}, "state['counts']", "Counter"),
])
def test_what_a_weights_only_load_would_refuse_is_refused_at_save_time_naming_the_key(
    tmp_path: Path, state: dict[str, Any], where: str, kind: str
) -> None:
    path = save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    with pytest.raises(TypeError, match=re.escape(where) + ".*" + re.escape(kind) + ".*weights_only=True"):
        save_checkpoint(state, path)
    assert load_checkpoint(path) == {"epoch": 1}  # the previous checkpoint is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_everything_save_accepts_loads_back(tmp_path: Path) -> None:
    state = {
        "t": torch.ones(2), "p": torch.nn.Parameter(torch.zeros(1)), "n": [1, 2.5, True, None, 1 + 2j],
        "s": "x", "b": b"y", "tuple": (1, "a"), "set": {1, 2}, "dtype": torch.float16,
        "device": torch.device("cpu"), "size": torch.Size([2, 3]), 3: {"int keys": "fine"},
        "ordered": collections.OrderedDict(a=1),
    }
    loaded = load_checkpoint(save_checkpoint(state, tmp_path / "c.pt"))
    assert loaded.keys() == state.keys() and loaded["size"] == torch.Size([2, 3]) and loaded[3] == state[3]


def test_a_failed_write_names_the_target_not_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a read-only folder does (simulated: root, as in CI containers, may write anywhere).
    target = tmp_path / "ckpt.pt"

    def refuse(*args: Any, dir: str, prefix: str, suffix: str) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(Path(dir) / f"{prefix}k3j2h1g0{suffix}"))

    monkeypatch.setattr(checkpoint_module.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match=re.escape(repr(str(target)))) as info:
        save_checkpoint({"epoch": 1}, target)
    assert ".tmp" not in str(info.value) and info.value.filename == str(target)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write to read-only folders")
def test_a_read_only_folder_names_the_target(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=re.escape(repr(str(folder / "ckpt.pt")))):
            save_checkpoint({"epoch": 1}, folder / "ckpt.pt")
    finally:
        folder.chmod(0o700)


_KILLED_WRITER = """
import sys, time, torch
import attn_helpers.checkpoint as checkpoint
def slow_save(obj, handle, *args, **kwargs):
    handle.write(b"PK half an archive"); handle.flush()
    print("writing", flush=True); time.sleep(60)
checkpoint.torch.save = slow_save
checkpoint.save_checkpoint({"epoch": 2}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_the_temp_file_of_a_killed_write_is_removed_by_the_next_save(tmp_path: Path) -> None:
    path = save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    neighbour = tmp_path / ".ckpt.pt.old.abcd1234.tmp"  # another target's temp file (ckpt.pt.old): kept
    neighbour.write_bytes(b"")
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    orphans = [p.name for p in tmp_path.iterdir() if p.name.startswith(".ckpt.pt.") and p != neighbour]
    assert len(orphans) == 1 and load_checkpoint(path) == {"epoch": 1}  # the premise: one orphan, old file intact
    save_checkpoint({"epoch": 3}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [neighbour.name, "ckpt.pt"]
    assert load_checkpoint(path) == {"epoch": 3}
