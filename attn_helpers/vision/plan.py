"""What a comparison will cost, said before it starts, and how long is left once it has.

* :func:`plan_runs` / :func:`plan_paired` return a :class:`RunPlan`: models x seeds x epochs x
  steps, the download the data route needs, and an *estimated* time on a T4 (Colab's free
  GPU), printed with how it was estimated; models that take no images (the sequence models
  of chapters 1-3) get the plan without the estimate (``input_shape=None``);
* :class:`RunClock` prints an ETA for the whole comparison after its first epoch and after its
  first finished run (:func:`attn_helpers.train_paired` uses it).

How the T4 time is estimated (no T4 was used to write this; the two rates are assumptions):
a training step costs ``max(3 x forward FLOPs x batch / T4_FLOPS, ops x T4_SECONDS_PER_OP)``.
The first term is the arithmetic (a backward pass costs about twice a forward pass) at
:data:`T4_FLOPS`, a sustained mixed-precision rate for small convolutional networks well
below the card's 65 TFLOP/s fp16 peak; the second is the launch-bound floor of small
networks: every PyTorch operation of the step (counted by running one training step of the
model on the CPU) costs about :data:`T4_SECONDS_PER_OP` of Python and kernel-launch time,
and the GPU cannot go faster than the CPU hands it work. The test pass at the end of a run
is added as forward-only steps. Data loading is taken as free: on CUDA the real route's
batches are made on the GPU (:class:`~attn_helpers.DeviceLoader`) and the offline route's
are tensors already.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode  # counts every op a step dispatches
from tqdm.auto import tqdm

from ..data.routes import DOWNLOAD_BYTES
from ..data.vision import VisionData
from ..validation import check_int, check_ints
from .budget import count_flops

__all__ = ["T4_FLOPS", "T4_SECONDS_PER_OP", "RunClock", "RunPlan", "count_step_ops", "plan_paired", "plan_runs"]

T4_FLOPS = 4e12  # FLOP/s, assumed sustained fp16 rate of small conv nets on a T4 (peak: 65e12)
T4_SECONDS_PER_OP = 10e-6  # s, assumed eager-PyTorch cost of one op on Colab's CPU + launch

_DATASET_KEYS = {"cifar10": "CIFAR10", "stl10": "STL10"}
_DATASET_NAMES = {"CIFAR10": "CIFAR-10", "STL10": "STL-10"}


class _OpCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.count += 1
        return func(*args, **(kwargs or {}))


def count_step_ops(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """Operations PyTorch dispatches for one training step of ``model``: (forward, whole step).

    Runs a batch of 2 zero images of shape ``input_shape`` = (C, H, W) on a CPU copy of the
    model through forward, cross-entropy, backward and an SGD step (multi-tensor, as on CUDA).
    """
    copy = deepcopy(model).to("cpu")
    copy.train()
    params = [p for p in copy.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.0, momentum=0.9, nesterov=True, foreach=True)
    x = torch.zeros((2, *input_shape))
    y = torch.zeros(2, dtype=torch.long)
    with _OpCounter() as forward:
        out = copy(x)
    logits = out[0] if isinstance(out, (tuple, list)) else out  # models that also return their maps
    with _OpCounter() as rest:
        nn.functional.cross_entropy(logits, y).backward()
        optimizer.step()
    return forward.count, forward.count + rest.count


@dataclass(frozen=True)
class RunPlan:
    """A comparison's size, its download and its estimated time on a T4 (see the module docstring)."""

    models: tuple[str, ...]
    seeds: int
    epochs: int
    steps_per_epoch: int
    batch_size: int
    test_images: int
    downloads: tuple[tuple[str, int], ...]
    t4_seconds_per_run: tuple[float, ...] | None  # None: not estimated (the models take no images)
    unit: str = "images"
    test_passes: int = 1  # per run

    @property
    def runs(self) -> int:
        """Models x seeds."""
        return len(self.models) * self.seeds

    @property
    def steps(self) -> int:
        """Optimisation steps of the whole comparison."""
        return self.runs * self.epochs * self.steps_per_epoch

    @property
    def t4_seconds(self) -> float | None:
        """Estimated seconds of the whole comparison on a T4 (None where not estimated)."""
        if self.t4_seconds_per_run is None:
            return None
        return self.seeds * sum(self.t4_seconds_per_run)

    def __str__(self) -> str:
        tests = (f", and {_count(self.runs * self.test_passes, 'test pass', 'test passes')} over "
                 f"{self.test_images:,} {self.unit}" if self.test_images else "")
        lines = [
            f"plan: {_count(len(self.models), 'model')} ({', '.join(self.models)}) x {_count(self.seeds, 'seed')} "
            f"x {_count(self.epochs, 'epoch')} x {_count(self.steps_per_epoch, 'step')} of {self.batch_size} "
            f"{self.unit} = {_count(self.steps, 'step')}{tests}",
            "download: " + ("nothing (the data is made on this machine)" if not self.downloads else ", ".join(
                f"{_DATASET_NAMES.get(name, name)} {size / 1e9:.2f} GB the first time"
                for name, size in self.downloads)),
        ]
        if self.t4_seconds is None or self.t4_seconds_per_run is None:
            lines.append("estimated time on a T4: none (the estimate runs the model on images, and these models "
                         "take other inputs); the progress bar shows the time left")
            return "\n".join(lines)
        lines += [
            f"estimated time on a T4: {_minutes(self.t4_seconds)} (a run: " + ", ".join(
                f"{name} {_minutes(s)}" for name, s in zip(self.models, self.t4_seconds_per_run)) + ")",
            f"  estimated as: per step max(3 x forward FLOPs x batch / {T4_FLOPS / 1e12:g} TFLOP/s, "
            f"ops per step x {T4_SECONDS_PER_OP * 1e6:g} us),",
            "  ops counted in one training step on the CPU; both rates assumed, not measured on a T4",
        ]
        return "\n".join(lines)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: "1 seed", "5 seeds", "3,720 steps"."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _minutes(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _t4_run_seconds(model: nn.Module, input_shape: Sequence[int], *, steps: int, batch_size: int,
                    test_images: int, test_passes: int) -> float:
    flops = count_flops(model, input_shape)  # forward FLOPs of one image
    forward_ops, step_ops = count_step_ops(model, input_shape)
    train = steps * max(3 * flops * batch_size / T4_FLOPS, step_ops * T4_SECONDS_PER_OP)
    test_batches = math.ceil(test_images / batch_size)
    test = test_batches * max(flops * batch_size / T4_FLOPS, forward_ops * T4_SECONDS_PER_OP)
    return train + test_passes * test


def plan_runs(
    builders: Mapping[str, Callable[[], nn.Module]] | Sequence[str],
    *,
    seeds: int | Sequence[int],
    epochs: int,
    steps_per_epoch: int,
    batch_size: int,
    input_shape: Sequence[int] | None,
    test_images: int,
    downloads: Mapping[str, int] | None = None,
    unit: str = "images",
    test_passes: int = 1,
) -> RunPlan:
    """Plan ``builders`` x ``seeds`` runs of ``epochs`` x ``steps_per_epoch`` steps; print the result.

    Args:
        builders: variant name -> a function of no arguments returning a fresh model (each is
            called once, on the CPU, to count its FLOPs and operations); where ``input_shape``
            is None, just the variant names will do (nothing is built).
        seeds: the seeds (or their number).
        epochs, steps_per_epoch, batch_size: the training budget of one run.
        input_shape: (C, H, W) of one image; None for models that take other inputs (token
            ids, a key index): the plan then has no T4 estimate and says so. Such models are
            small here, and ``fit``'s progress bar shows their time left.
        test_images: examples in each test pass (0: the runs have none).
        downloads: torchvision dataset name -> archive bytes (e.g. ``{"STL10": 2_640_397_119}``;
            :data:`attn_helpers.data.routes.DOWNLOAD_BYTES`), empty on the offline route.
        unit: what one example is called in the printed plan ("images", "sequences", ...).
        test_passes: test passes per run (``fit`` with a ``val_loader`` makes one per epoch).
    """
    if isinstance(builders, str) or not isinstance(builders, (Mapping, Sequence)):
        raise TypeError(f"builders must be a dict of name -> model builder (or, without input_shape, a list of "
                        f"names), got {type(builders).__name__}")
    if not builders:
        raise ValueError("builders must name at least one variant")
    n_seeds = check_int("seeds", seeds, 1) if isinstance(seeds, int) else len(check_ints("seeds", seeds, 0))
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch), ("batch_size", batch_size),
                        ("test_passes", test_passes)):
        check_int(name, value, 1)
    check_int("test_images", test_images, 0)
    if not isinstance(unit, str) or not unit:
        raise TypeError(f"unit must be a non-empty str such as 'images', got {unit!r}")
    if input_shape is None:
        seconds = None
    elif not isinstance(builders, Mapping):
        raise TypeError("builders must map each name to a model builder where input_shape is given "
                        "(the estimate builds each model once)")
    else:
        seconds = tuple(
            _t4_run_seconds(build(), input_shape, steps=epochs * steps_per_epoch, batch_size=batch_size,
                            test_images=test_images, test_passes=test_passes)
            for build in builders.values())
    return RunPlan(tuple(builders), n_seeds, epochs, steps_per_epoch, batch_size, test_images,
                   tuple((downloads or {}).items()), seconds, unit, test_passes)


def plan_paired(
    builders: Mapping[str, Callable[[], nn.Module]],
    data: VisionData,
    *,
    seeds: int | Sequence[int],
    epochs: int,
) -> RunPlan:
    """:func:`plan_runs` for :func:`attn_helpers.train_paired` on ``data``: call it with the same arguments first.

    Steps, batch size, image shape and test images come from ``data``; the download from its
    route (CIFAR-10 170 MB, STL-10 2.64 GB on the real route; nothing offline). Building the
    models here draws from PyTorch's random stream; ``train_paired`` re-seeds before each run.
    """
    if not isinstance(data, VisionData):
        raise TypeError(f"data must be a VisionData (ah.vision_data(...)), got {type(data).__name__}")
    key = _DATASET_KEYS.get(data.dataset or "")
    return plan_runs(builders, seeds=seeds, epochs=epochs, steps_per_epoch=len(data.train_loader),
                     batch_size=_batch_size(data.train_loader),
                     input_shape=data.input_shape, test_images=len(data.test_set),
                     downloads={key: DOWNLOAD_BYTES[key]} if key else None)


def _batch_size(loader: object) -> int:
    # A DataLoader or DeviceLoader says it; batch_loader's DataLoader keeps it in its BatchSampler.
    for owner in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        size = getattr(owner, "batch_size", None)
        if isinstance(size, int) and not isinstance(size, bool):
            return size
    return int(next(iter(loader))[1].shape[0])  # type: ignore[call-overload]


class RunClock:
    """Prints how long a comparison of ``runs`` runs of ``epochs`` epochs has left.

    Call :meth:`run_start` before each run, :meth:`epoch_end` after each of its epochs (it
    fits ``fit``'s ``on_epoch_end``) and :meth:`run_end` after it. It prints twice: after the
    first epoch (its time x the epochs left; the first epoch includes warm-up, so this errs
    long) and after the first finished run (its time x the runs left). Variants that cost
    more than the first one make both err short.
    """

    def __init__(self, runs: int, epochs: int, *, write: Callable[[str], None] = tqdm.write) -> None:
        self.runs, self.epochs, self.write = runs, epochs, write
        self.started: float | None = None
        self.runs_done = 0
        self.said_epoch = False

    def run_start(self) -> None:
        """Before a run; the clock starts with the first."""
        if self.started is None:
            self.started = time.perf_counter()

    def epoch_end(self, epoch: int, history: object = None) -> None:
        """After epoch ``epoch`` (1-based, counting epochs resumed from a checkpoint) of a run."""
        if self.started is None or self.said_epoch or self.runs_done or epoch >= self.epochs:
            return  # the first run's last epoch: run_end says it better
        self.said_epoch = True
        seconds = time.perf_counter() - self.started
        left = self.runs * self.epochs - epoch
        self.write(f"ETA: first epoch {_minutes(seconds)}; {left} epochs left at that pace: "
                   f"about {_minutes(seconds * left)}")

    def run_end(self) -> None:
        """After a run (training and test pass)."""
        self.runs_done += 1
        if self.started is not None and self.runs_done == 1 and self.runs > 1:
            seconds = time.perf_counter() - self.started
            self.write(f"ETA: first run {_minutes(seconds)}; {self.runs - 1} runs left at that pace: "
                       f"about {_minutes(seconds * (self.runs - 1))}")
