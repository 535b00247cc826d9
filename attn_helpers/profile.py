"""Run profiles: how big a chapter's run is.

One environment variable, ``ATTN_PROFILE``, selects the profile:

* ``smoke``: tiny data and a few optimisation steps; what CI runs (<= 45 s a chapter
  on 2 CPU cores).
* ``reduced``: a shorter but meaningful run for a CPU (about 3 minutes a chapter).
* ``full``: the chapter's real training, meant for a GPU (e.g. Colab).

Without the variable the profile follows the device: ``full`` on CUDA, ``reduced``
otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import torch

from .validation import check_choice, check_device

__all__ = ["PROFILE_ENV_VAR", "PROFILE_NAMES", "RunProfile", "get_profile", "describe_run"]

PROFILE_ENV_VAR = "ATTN_PROFILE"
PROFILE_NAMES = ("smoke", "reduced", "full")

T = TypeVar("T")


@dataclass(frozen=True)
class RunProfile:
    """The selected run size. ``source`` says why it was chosen."""

    name: str
    source: str

    def pick(self, *, smoke: T, reduced: T, full: T) -> T:
        """Return the value given for this profile, e.g. ``epochs = p.pick(smoke=1, reduced=5, full=30)``."""
        return {"smoke": smoke, "reduced": reduced, "full": full}[self.name]

    @property
    def is_smoke(self) -> bool:
        """True for the tiny CI profile."""
        return self.name == "smoke"


def get_profile(name: str | None = None, device: torch.device | str | None = None) -> RunProfile:
    """Resolve the run profile.

    Args:
        name: an explicit profile name; overrides the environment variable.
        device: the device the run uses (``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``);
            decides the default when neither ``name`` nor ``ATTN_PROFILE`` is given
            (``full`` on CUDA, ``reduced`` elsewhere).
    """
    # Checked even when the name decides: a typo'd device is an error whatever the profile.
    # available=False: asking which profile a CUDA run would get is fine on a CPU machine.
    device_type = check_device("device", device, available=False).type if device is not None else None
    if name is not None:
        return RunProfile(check_choice("name", name, PROFILE_NAMES), "argument")
    env = os.environ.get(PROFILE_ENV_VAR, "").strip().lower()
    if env:
        return RunProfile(check_choice(PROFILE_ENV_VAR, env, PROFILE_NAMES), PROFILE_ENV_VAR)
    if device_type is None:
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    return RunProfile("full" if device_type == "cuda" else "reduced", f"default for {device_type}")


def describe_run(profile: RunProfile, device: torch.device | str, seed: int | None = None) -> str:
    """One line naming the profile, device and library versions a notebook ran with."""
    if not isinstance(profile, RunProfile):
        raise TypeError(f"profile must be a RunProfile (from get_profile), got {type(profile).__name__}")
    device = check_device("device", device, available=False)
    where = str(device)
    if device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(device)})"
    parts = [f"profile: {profile.name} ({profile.source})", f"device: {where}", f"torch {torch.__version__}"]
    if seed is not None:
        parts.append(f"seed {seed}")
    return " | ".join(parts)
