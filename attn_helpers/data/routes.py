"""The data contract: every chapter has an offline route and, for vision, a real one.

* ``offline``: data generated on the fly or shipped inside an installed package
  (e.g. scikit-learn's digits). Always works, including in CI, which has no internet.
* ``real``: a torchvision dataset (CIFAR-10, STL-10, ...) downloaded on first use;
  the route used on Colab.

``ATTN_DATA`` (``offline`` or ``real``) picks the route; by default the ``full``
profile uses the real route and the others the offline one. ``ATTN_DATA_ROOT`` names the
folder the real datasets are kept in (default ``data``). Before a download starts, its
size is printed (:data:`DOWNLOAD_BYTES`). A failed download ends
in :class:`DatasetUnavailableError`, whose message names the offline route, after at
most ``timeout`` seconds without an answer from the server.
"""

from __future__ import annotations

import os
import socket
import urllib.error
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..profile import RunProfile
from ..validation import check_choice, check_positive

__all__ = [
    "DATA_ROOT_ENV_VAR",
    "DATA_ROUTE_ENV_VAR",
    "DATA_ROUTES",
    "DOWNLOAD_BYTES",
    "DatasetUnavailableError",
    "choose_data_route",
    "data_root",
    "fetch_torchvision_dataset",
]

DATA_ROUTE_ENV_VAR = "ATTN_DATA"
DATA_ROOT_ENV_VAR = "ATTN_DATA_ROOT"
DATA_ROUTES = ("offline", "real")
# Size in bytes of the archive torchvision downloads (the files at the datasets' URLs).
DOWNLOAD_BYTES = {"CIFAR10": 170_498_071, "STL10": 2_640_397_119}


def data_root() -> str:
    """The folder real datasets are kept in: ``ATTN_DATA_ROOT`` if set, else ``"data"``."""
    return os.environ.get(DATA_ROOT_ENV_VAR, "").strip() or "data"


class DatasetUnavailableError(RuntimeError):
    """A real dataset could not be obtained; the message says how to run offline."""


def choose_data_route(route: str | None = None, profile: RunProfile | None = None) -> str:
    """Return ``"offline"`` or ``"real"``.

    Precedence: the ``route`` argument, then ``ATTN_DATA``, then the profile
    (``full`` -> ``real``, otherwise ``offline``).
    """
    if route is not None:
        return check_choice("route", route, DATA_ROUTES)
    env = os.environ.get(DATA_ROUTE_ENV_VAR, "").strip().lower()
    if env:
        return check_choice(DATA_ROUTE_ENV_VAR, env, DATA_ROUTES)
    return "real" if profile is not None and profile.name == "full" else "offline"


def _dataset_class(dataset: str | type[Dataset]) -> type[Dataset]:
    if not isinstance(dataset, str):
        return dataset
    import torchvision.datasets

    cls = getattr(torchvision.datasets, dataset, None)
    if not isinstance(cls, type):
        raise ValueError(f"dataset must name a torchvision dataset class, got {dataset!r}")
    return cls


def fetch_torchvision_dataset(
    dataset: str | type[Dataset],
    root: str | os.PathLike[str],
    *,
    timeout: float = 30.0,
    **kwargs: Any,
) -> Dataset:
    """Build a torchvision dataset, downloading it into ``root`` if needed.

    Args:
        dataset: a class name in ``torchvision.datasets`` (``"CIFAR10"``) or a class
            with the same constructor convention (``root=..., download=...``).
        root: folder the data is stored in.
        timeout: seconds a silent connection may hang before the download fails.
        **kwargs: passed on, e.g. ``train=True`` or ``split="train"``, ``transform``.

    Raises:
        DatasetUnavailableError: the download failed; the message says whether the network
            (no connection, server error), the disk (full, read-only) or the archive
            (corrupt) is the likely cause, and names the offline route.
    """
    check_positive("timeout", timeout)
    cls = _dataset_class(dataset)
    name = cls.__name__
    Path(root).mkdir(parents=True, exist_ok=True)
    folder = getattr(cls, "base_folder", None)
    if name in DOWNLOAD_BYTES and not (folder and (Path(root) / folder).is_dir()):
        # Said before the download starts: STL-10's is 2.64 GB, too big to meet by surprise.
        print(f"Downloading {name}: a {DOWNLOAD_BYTES[name] / 1e9:.2f} GB archive, once; later runs reuse "
              f"the files in {Path(root).name!r}.")
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        return cls(root=str(root), download=True, **kwargs)
    except (OSError, RuntimeError) as error:  # URLError and socket errors are OSErrors too
        raise DatasetUnavailableError(
            f"Could not download {name} into {str(root)!r} ({type(error).__name__}: {error}). "
            f"{_likely_cause(error, root)} Or use the offline route: set {DATA_ROUTE_ENV_VAR}=offline "
            f"(or pass route='offline'), which trains on data generated on this machine."
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)


def _likely_cause(error: BaseException, root: str | os.PathLike[str]) -> str:
    """What to tell the reader: a network failure, a disk that refused the files, or a bad archive."""
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror, socket.herror)):
        return "This machine may have no internet access, or the server did not answer."
    if isinstance(error, OSError):  # ENOSPC, EACCES, EROFS, ...: the network was not the problem
        return (
            f"The files could not be written there: the disk may be full or the folder read-only. "
            f"Free some space or choose another folder ({DATA_ROOT_ENV_VAR} or root=...)."
        )
    return f"The download may be incomplete or the archive corrupt: delete {str(root)!r} and run again."
