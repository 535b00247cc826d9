"""Checkpoints that survive a crash: atomic writes, ``weights_only`` loads.

A checkpoint is written to a temporary file in the same folder, flushed to disk and
then renamed over the old one, so a run killed mid-write leaves the previous
checkpoint intact. A temporary file left behind by a killed write (``SIGKILL`` gives no
chance to clean up) is removed by the next save to the same path; one process writes
a given checkpoint path at a time. Loading uses ``torch.load(weights_only=True)``, which
refuses to unpickle arbitrary objects from a file someone handed you; so that this
never surprises a resumed run, :func:`save_checkpoint` refuses, at save time and naming
the key, any object such a load would refuse.
"""

from __future__ import annotations

import collections
import os
import pickle
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .validation import check_file_path

__all__ = ["save_checkpoint", "load_checkpoint", "capture_rng_state", "restore_rng_state"]

# What torch.load(weights_only=True) rebuilds without extra allow-listing. Exact types:
# numpy scalars subclass float but are refused, and so are dict/tuple subclasses such as
# defaultdict or named tuples (torch.Size is the allowed exception).
_PLAIN_LEAVES = (int, float, bool, complex, str, bytes, type(None), torch.dtype, torch.device, torch.Size)
_TENSORS = (torch.Tensor, nn.Parameter)
_MAPPINGS = (dict, collections.OrderedDict)
_SEQUENCES = (list, tuple, set)


def _check_weights_only(value: Any, where: str) -> None:
    kind = type(value)
    if kind in _PLAIN_LEAVES or kind in _TENSORS:
        return
    if kind in _MAPPINGS:
        for key, item in value.items():
            _check_weights_only(key, f"{where} (a key)")
            _check_weights_only(item, f"{where}[{key!r}]")
        return
    if kind in _SEQUENCES:
        for i, item in enumerate(value):
            _check_weights_only(item, f"{where}[{i}]")
        return
    hint = " (convert it with torch.from_numpy or float()/int())" if kind.__module__.startswith("numpy") else ""
    raise TypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}, which load_checkpoint "
        f"(torch.load with weights_only=True) would refuse{hint}; store tensors, numbers, "
        f"strings, None, lists, tuples or dicts of them"
    )


# mkstemp's names: prefix, 8 characters from [a-z0-9_], suffix.
def _temp_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")


def _naming_the_target(error: OSError, path: Path) -> OSError:
    """The same kind of ``OSError``, but about ``path`` rather than the temporary file."""
    reason = error.strerror or str(error)
    if error.errno is None:
        return type(error)(f"could not write the checkpoint path={str(path)!r}: {reason}")
    return type(error)(error.errno, f"{reason} (writing the checkpoint path)", str(path))


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, tuples, dicts) to ``path`` atomically.

    Raises:
        TypeError: ``state`` is not a dict, or holds an object ``load_checkpoint`` would
            refuse (a numpy array, a function, ...); the message names its key.
        IsADirectoryError: ``path`` is a directory.
        OSError: the write failed (read-only folder, full disk); the message names ``path``.
            The previous checkpoint at ``path``, if any, is left as it was.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    _check_weights_only(state, "state")
    path = check_file_path("path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    orphan = _temp_pattern(path)
    for stale in path.parent.iterdir():
        if orphan.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _naming_the_target(error, path) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:
        Path(tmp_name).unlink(missing_ok=True)
        raise _naming_the_target(error, path) from error
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is empty, truncated or otherwise not a checkpoint (message names ``path``).
        pickle.UnpicklingError: the file holds objects ``weights_only=True`` refuses to
            unpickle, or is not a torch file at all (message names ``path``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r}: no checkpoint file there")
    if path.stat().st_size == 0:
        raise ValueError(f"path={str(path)!r} is an empty file (0 bytes), not a checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(f"path={str(path)!r}: {error}") from error
    except (EOFError, IndexError, KeyError, RuntimeError, ValueError, AttributeError) as error:
        raise ValueError(
            f"path={str(path)!r} could not be loaded as a checkpoint (truncated or corrupt?): "
            f"{type(error).__name__}: {error}"
        ) from error
    if not isinstance(state, dict):
        raise ValueError(f"path={str(path)!r} holds a {type(state).__name__}, not a checkpoint dict")
    return state


def capture_rng_state() -> dict[str, Any]:
    """The state of every generator a training run draws from, in a ``weights_only``-safe form."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by :func:`capture_rng_state`."""
    missing = {"python", "python_version", "python_gauss", "numpy", "torch"} - set(state)
    if missing:
        raise ValueError(f"state is not from capture_rng_state: missing {sorted(missing)}")
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
