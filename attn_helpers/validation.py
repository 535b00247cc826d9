"""Argument checks that fail early with a message naming the argument.

Every public function of the package validates its inputs with these helpers so a
wrong shape, dtype or range surfaces as a one-line ``ValueError``/``TypeError``
instead of a deep PyTorch traceback. They are the package's only validators: a
module that needs a check calls one of these rather than keeping its own copy.

What is checked, and what is not:

* **Cheap checks only.** A module's ``forward`` checks ranks, sizes and dtypes: Python
  comparisons of tensor metadata that never read tensor *values*, so they never make
  the CPU wait for a GPU (no ``.item()``, no ``bool(tensor)``). The few checks that must
  read values (an index or a length in range) run only where that is free, on CPU tensors
  (:func:`values_are_cheap`); on a GPU torch's own index checks are the guard.
  ``benchmarks/bench_checks.py`` measures what the checks cost per training step.
* **NaN policy: data NaNs propagate, as in torch.** A NaN or infinity inside an input
  tensor is not an argument error: it flows through the module the way it flows
  through ``torch.nn`` layers (finding it would mean reading every value, and a GPU
  sync per call). :func:`attn_helpers.fit` is where it surfaces, once per epoch: a
  non-finite training loss raises ``FloatingPointError``. NaN as a *Python number*
  argument (a bandwidth, a rate) is rejected, by :func:`check_positive` and
  :func:`check_in_range`.
* **Integers.** :func:`check_int` raises ``ValueError`` for any value that is not an
  int in range, including ``2.5``, ``True`` or ``"3"`` (one message, "must be a
  positive int, got 2.5", whatever was wrong with it). ``numpy`` integers count as ints.
* **dtypes.** A module whose parameters are float32 needs float32 inputs; under
  ``torch.autocast`` the mismatch is allowed for the dtypes autocast converts
  (float32, float16, bfloat16), because there the casting is autocast's job.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "check_tensor",
    "check_positive",
    "check_in_range",
    "check_choice",
    "check_int",
    "check_ints",
    "check_tokens",
    "check_device",
    "check_dtype",
    "check_feature_map",
    "check_batchnorm_batch",
    "check_file_path",
    "check_image_size",
    "values_are_cheap",
]

# Devices the book's code runs on; torch knows more (xla, meta, ...), the book does not use them.
DEVICE_TYPES = ("cpu", "cuda", "mps")
# The dtypes torch.autocast converts on its own; float64 is left alone (and then fails).
_AUTOCAST_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def check_tensor(
    name: str,
    value: object,
    *,
    ndim: int | Sequence[int] | None = None,
    floating: bool = False,
    shape: Sequence[int | None] | None = None,
) -> torch.Tensor:
    """Return ``value`` if it is a tensor of the expected rank/shape, else raise.

    Args:
        name: argument name quoted in the error message.
        value: the object to check.
        ndim: allowed rank(s).
        floating: require a floating-point dtype.
        shape: expected shape; ``None`` entries match any size.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.dim() not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"{name} must be {want}-D, got shape {tuple(value.shape)} ({value.dim()}-D)"
            )
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype, got {value.dtype}; convert it with {name}.float()"
        )
    if shape is not None:
        expected = tuple(shape)
        ok = value.dim() == len(expected) and all(
            e is None or e == s for e, s in zip(expected, value.shape)
        )
        if not ok:
            pretty = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            raise ValueError(f"{name} must have shape {pretty}, got {tuple(value.shape)}")
    return value


def check_positive(name: str, value: float | int, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive (or non-negative) number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")


def check_in_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def _int_bounds(low: int | None, high: int | None) -> str:
    if high is not None:
        return f"an int in [{low}, {high}]" if low is not None else f"an int <= {high}"
    if low == 1:
        return "a positive int"
    if low == 0:
        return "a non-negative int"
    return f"an int >= {low}" if low is not None else "an int"


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``, else raise ``ValueError``.

    ``bool`` is refused (``True`` is not a size); ``numpy`` integers are accepted. A float,
    even an integral one like ``2.0``, is refused: sizes and counts are ints.
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise ValueError(f"{name} must be {_int_bounds(low, high)}, got {value!r}")
    return int(value)


def check_ints(
    name: str, values: object, low: int | None = 1, *, length: int | None = None
) -> tuple[int, ...]:
    """Return ``values`` as a tuple of ints, each ``>= low``; a non-empty sequence, ``length`` long if given."""
    want = f"{length} " if length is not None else "a non-empty sequence of "
    what = _int_bounds(low, None).removeprefix("a ").removeprefix("an ") + "s"
    try:
        items = tuple(values)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be {want}{what}, got {values!r}") from None
    if (
        not items
        or (length is not None and len(items) != length)
        or isinstance(values, (str, bytes))
        or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
               or (low is not None and v < low) for v in items)
    ):
        raise ValueError(f"{name} must be {want}{what}, got {values!r}")
    return tuple(int(v) for v in items)


def check_image_size(name: str, value: object) -> tuple[int, int]:
    """Return ``(height, width)`` from an int (a square) or a pair of positive ints, else raise ``ValueError``."""
    message = f"{name} must be an int or (height, width) of positive ints, got {value!r}"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(message)
    try:
        size = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(message) from None
    if len(size) != 2 or any(
        isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 1 for s in size
    ):
        raise ValueError(message)
    return int(size[0]), int(size[1])


def check_device(name: str, value: object, *, available: bool = True) -> torch.device:
    """Return ``value`` as a ``torch.device`` of a kind the book runs on (cpu, cuda, mps), else raise.

    Args:
        name: argument name quoted in the error message.
        value: a ``torch.device`` or a string such as ``"cuda"``, ``"cuda:1"``, ``"cpu"``.
        available: also require the device kind to be usable on this machine (CUDA or
            MPS present). ``False`` only checks that it names a device.
    """
    if not isinstance(value, (str, torch.device)):
        raise ValueError(
            f"{name}={value!r} is not a device: give a torch.device or a string such as 'cpu' or 'cuda'"
        )
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError):  # torch's message lists two dozen backends; name ours
        raise ValueError(
            f"{name}={value!r} is not a device: use 'cpu', 'cuda', 'cuda:<index>' or 'mps'"
        ) from None
    if device.type not in DEVICE_TYPES:
        raise ValueError(
            f"{name}={str(value)!r} is not a device this book runs on: use one of {list(DEVICE_TYPES)}"
        )
    if available and device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={str(value)!r} but CUDA is not available here")
    if available and device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}={str(value)!r} but MPS is not available here")
    return device


def _autocast_converts(value: torch.Tensor) -> bool:
    if value.dtype not in _AUTOCAST_DTYPES:
        return False
    try:
        return torch.is_autocast_enabled(value.device.type)
    except RuntimeError:  # a device type autocast does not know (e.g. meta)
        return False


def check_dtype(name: str, value: torch.Tensor, dtype: torch.dtype, *, source: str = "the module's parameters") -> None:
    """Raise ``TypeError`` unless ``value.dtype == dtype``, the dtype of ``source``.

    ``source`` says where ``dtype`` comes from (``"SqueezeExcite's parameters"``,
    ``"queries"``). Allowed under ``torch.autocast`` for float32/float16/bfloat16 inputs,
    which autocast converts itself. ``value`` must already be a tensor (see :func:`check_tensor`).
    """
    if value.dtype != dtype and not _autocast_converts(value):
        raise TypeError(
            f"{name} must have dtype {dtype} (the dtype of {source}), got {value.dtype}; "
            f"convert one to match, e.g. {name}.to({dtype})"
        )


def check_feature_map(name: str, value: object, channels: int | None = None) -> torch.Tensor:
    """Return ``value`` if it is a floating (B, channels, H, W) tensor with ``H, W >= 1``, else raise.

    An empty map (``H`` or ``W`` of 0) is refused: pooling it gives NaN or a raw
    convolution error. ``channels=None`` accepts any channel count.
    """
    check_tensor(name, value, ndim=4, floating=True)
    if channels is not None and value.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}, H, W), got {tuple(value.shape)}")
    if value.shape[2] == 0 or value.shape[3] == 0:
        raise ValueError(
            f"{name} must have at least one position (H, W >= 1), got shape {tuple(value.shape)}"
        )
    return value


def check_batchnorm_batch(name: str, value: torch.Tensor, training: bool, *, owner: str) -> None:
    """Raise ``ValueError`` for a batch of one in training mode, which ``owner``'s BatchNorm over (B, C) cannot use.

    BatchNorm estimates each channel's mean and variance from the batch; over (B, C)
    a batch of one gives a single value per channel and torch refuses it. In eval mode
    the running statistics are used and any batch size works.
    """
    if training and value.shape[0] == 1:
        raise ValueError(
            f"{name} must have a batch of at least 2 in training mode: {owner} applies "
            f"BatchNorm over (B, C), which needs more than one value per channel; got shape "
            f"{tuple(value.shape)}. Use a larger batch, or call .eval() to use the running statistics"
        )


def check_file_path(name: str, value: object) -> Path:
    """Return ``value`` as a ``Path`` if it can name a file: a ``str``/``os.PathLike`` that is not a directory.

    Raises ``TypeError`` for other types and ``IsADirectoryError`` (naming the argument)
    for an existing directory, which a file cannot be written over.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {type(value).__name__}")
    path = Path(value)
    if path.is_dir():
        raise IsADirectoryError(
            f"{name}={str(path)!r} is a directory; give a file path such as {str(path / 'checkpoint.pt')!r}"
        )
    return path


def values_are_cheap(value: torch.Tensor) -> bool:
    """Whether a check may read ``value``'s entries (``min()``, ``bool(...)``) without cost.

    True on the CPU. On a GPU (or ``meta``) reading a value makes the CPU wait for the
    device, a stall on every step, so range checks of indices and lengths are skipped there.
    """
    return value.device.type == "cpu"


def check_tokens(name: str, value: object, vocab_size: int) -> torch.Tensor:
    """Return ``value`` if it is a 2-D integer tensor of token ids in ``[0, vocab_size)``, else raise.

    Shapes: ``value`` ``(B, L)``. A wrong dtype raises ``TypeError``, a wrong rank or an id out of
    range ``ValueError`` (an out-of-range id would otherwise fail deep inside ``nn.Embedding``).
    The range is read only where that costs no GPU sync (:func:`values_are_cheap`).
    """
    check_tensor(name, value, ndim=2)
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype, got {value.dtype}")
    if values_are_cheap(value) and value.numel() and (value.min() < 0 or value.max() >= vocab_size):
        raise ValueError(f"{name} must lie in [0, {vocab_size - 1}] (vocab_size)")
    return value
