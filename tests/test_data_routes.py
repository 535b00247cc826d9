"""Tests of attn_helpers.data.routes: the offline/real data contract.

No test touches the network: downloads are stand-in classes, or torchvision with
``urllib.request.urlopen`` replaced and socket connections refused.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import Dataset

from attn_helpers import (
    DATA_ROUTE_ENV_VAR,
    DATA_ROUTES,
    DatasetUnavailableError,
    RunProfile,
    choose_data_route,
    fetch_torchvision_dataset,
)
from attn_helpers.data.routes import DATA_ROOT_ENV_VAR, DOWNLOAD_BYTES, data_root


@pytest.fixture
def default_timeout() -> Any:
    """A known socket default timeout during the test, restored afterwards."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(123.0)
    yield 123.0
    socket.setdefaulttimeout(previous)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float | None]]:
    """``urlopen`` fails at once (recording the URL and the socket timeout); sockets cannot connect."""
    calls: list[tuple[str, float | None]] = []

    def offline_urlopen(url: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((getattr(url, "full_url", url), socket.getdefaulttimeout()))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution (test)")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a test tried to open a real network connection")

    monkeypatch.setattr(urllib.request, "urlopen", offline_urlopen)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return calls


# ---------------------------------------------------------------------- choose_data_route


def test_constants() -> None:
    assert DATA_ROUTE_ENV_VAR == "ATTN_DATA"
    assert DATA_ROUTES == ("offline", "real")


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_argument_wins_over_environment_and_profile(monkeypatch: pytest.MonkeyPatch, route: str) -> None:
    other = "real" if route == "offline" else "offline"
    monkeypatch.setenv("ATTN_DATA", other)
    assert choose_data_route(route, RunProfile("full", "t")) == route
    assert choose_data_route(route=route, profile=RunProfile("smoke", "t")) == route


@pytest.mark.parametrize(("raw", "expected"), [("offline", "offline"), (" REAL ", "real"), ("Real\n", "real")])
def test_environment_wins_over_profile(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str) -> None:
    monkeypatch.setenv("ATTN_DATA", raw)
    for name in ("smoke", "reduced", "full"):
        assert choose_data_route(profile=RunProfile(name, "t")) == expected


@pytest.mark.parametrize(("profile", "expected"), [
    (RunProfile("full", "t"), "real"), (RunProfile("reduced", "t"), "offline"),
    (RunProfile("smoke", "t"), "offline"), (None, "offline"),
])
def test_profile_decides_when_nothing_else_does(monkeypatch: pytest.MonkeyPatch, profile, expected: str) -> None:
    assert choose_data_route(profile=profile) == expected
    monkeypatch.setenv("ATTN_DATA", "   ")  # blank counts as unset
    assert choose_data_route(profile=profile) == expected


@pytest.mark.parametrize("route", ["online", "Real", "", "synthetic"])
def test_bad_route_argument_raises_naming_it(route: str) -> None:
    with pytest.raises(ValueError, match=r"route must be one of \['offline', 'real'\]"):
        choose_data_route(route)


def test_bad_environment_value_raises_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTN_DATA", "download")
    with pytest.raises(ValueError, match="ATTN_DATA must be one of .*got 'download'"):
        choose_data_route()


# ------------------------------------------------------------- fetch_torchvision_dataset


class StandInDataset(Dataset):
    """Follows torchvision's constructor convention; "downloads" by writing a file."""

    def __init__(self, root: str, download: bool = False, split: str = "train", transform: Any = None) -> None:
        self.root, self.download, self.split, self.transform = root, download, split, transform
        self.timeout_during_download = socket.getdefaulttimeout()
        archive = Path(root) / f"{split}.txt"
        if download and not archive.exists():
            archive.write_text("3 1 4 1 5")
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        self.items = [int(v) for v in archive.read_text().split()]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> int:
        item = self.items[index]
        return self.transform(item) if self.transform else item


def test_fetch_builds_the_dataset_and_forwards_kwargs(tmp_path: Path, default_timeout: float) -> None:
    root = tmp_path / "data" / "standin"  # created on the way
    dataset = fetch_torchvision_dataset(StandInDataset, root, timeout=7.5, split="test", transform=lambda v: 10 * v)
    assert isinstance(dataset, StandInDataset)
    assert dataset.root == str(root) and dataset.download is True and dataset.split == "test"
    assert [dataset[i] for i in range(len(dataset))] == [30, 10, 40, 10, 50]
    assert (root / "test.txt").is_file()
    assert dataset.timeout_during_download == 7.5  # a silent server cannot hang the run
    assert socket.getdefaulttimeout() == default_timeout  # restored


def test_fetch_reuses_files_already_there(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("7 8")
    assert fetch_torchvision_dataset(StandInDataset, str(tmp_path)).items == [7, 8]


@pytest.mark.parametrize("error", [
    urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
    urllib.error.HTTPError("https://example.invalid/x.tgz", 503, "Service Unavailable", None, None),
    ConnectionResetError(104, "Connection reset by peer"),
    socket.timeout("timed out"),
    RuntimeError("File not found or corrupted."),
])
def test_failed_download_becomes_dataset_unavailable_with_the_offline_hint(
    tmp_path: Path, default_timeout: float, error: Exception
) -> None:
    class NoNetwork(StandInDataset):
        def __init__(self, root: str, download: bool = False, **kwargs: Any) -> None:
            raise error

    with pytest.raises(DatasetUnavailableError) as info:
        fetch_torchvision_dataset(NoNetwork, tmp_path / "x", split="train")
    message = str(info.value)
    assert "Could not download NoNetwork" in message
    assert "ATTN_DATA=offline" in message and "route='offline'" in message
    assert type(error).__name__ in message
    assert isinstance(info.value, RuntimeError)  # DatasetUnavailableError is a RuntimeError
    assert socket.getdefaulttimeout() == default_timeout  # restored on failure too


def test_other_errors_are_not_disguised_as_network_trouble(tmp_path: Path, default_timeout: float) -> None:
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        fetch_torchvision_dataset(StandInDataset, tmp_path, split="validation")
    assert socket.getdefaulttimeout() == default_timeout


def test_real_cifar10_without_network_fails_with_the_offline_hint(
    tmp_path: Path, no_network: list[tuple[str, float | None]], default_timeout: float
) -> None:
    with pytest.raises(DatasetUnavailableError, match="ATTN_DATA=offline") as info:
        fetch_torchvision_dataset("CIFAR10", tmp_path / "cifar", timeout=4.0, train=True)
    assert "Could not download CIFAR10" in str(info.value)
    assert "URLError" in str(info.value)
    assert no_network, "torchvision never reached urlopen: the test did not exercise the download"
    url, timeout_during = no_network[0]
    assert "cifar-10" in url
    assert timeout_during == 4.0
    assert socket.getdefaulttimeout() == default_timeout
    assert not any(p.is_file() and p.stat().st_size > 0 for p in (tmp_path / "cifar").rglob("*"))


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_bad_timeout_raises_naming_it(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be > 0"):
        fetch_torchvision_dataset(StandInDataset, tmp_path, timeout=timeout)


def test_non_numeric_timeout_raises_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="timeout must be a number"):
        fetch_torchvision_dataset(StandInDataset, tmp_path, timeout="30")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["NoSuchDataset", "cifar10", "utils", ""])
def test_unknown_dataset_name_raises_value_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=f"dataset must name a torchvision dataset class, got {name!r}"):
        fetch_torchvision_dataset(name, tmp_path / "never")
    assert not (tmp_path / "never").exists()


# ------------------------------------------------------------- data root and download size


def test_data_root_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_ROOT_ENV_VAR, raising=False)
    assert DATA_ROOT_ENV_VAR == "ATTN_DATA_ROOT" and data_root() == "data"
    monkeypatch.setenv(DATA_ROOT_ENV_VAR, f" {tmp_path} ")
    assert data_root() == str(tmp_path)
    monkeypatch.setenv(DATA_ROOT_ENV_VAR, "  ")  # blank counts as unset
    assert data_root() == "data"


def test_download_size_is_printed_before_a_download_and_not_when_the_files_are_there(
    tmp_path: Path, no_network: list[tuple[str, float | None]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert DOWNLOAD_BYTES["STL10"] == 2_640_397_119  # "2.64 GB": the number the book quotes
    with pytest.raises(DatasetUnavailableError):
        fetch_torchvision_dataset("STL10", tmp_path / "stl", split="train")
    assert "Downloading STL10: a 2.64 GB archive" in capsys.readouterr().out
    (tmp_path / "cifar" / "cifar-10-batches-py").mkdir(parents=True)  # already extracted (here: empty)
    with pytest.raises(DatasetUnavailableError):
        fetch_torchvision_dataset("CIFAR10", tmp_path / "cifar", train=True)
    assert "Downloading" not in capsys.readouterr().out


@pytest.mark.parametrize(("error", "cause"), [
    (urllib.error.URLError("[Errno -3] Temporary failure in name resolution"), "may have no internet access"),
    (socket.gaierror(-3, "Temporary failure in name resolution"), "may have no internet access"),
    (ConnectionResetError(104, "Connection reset by peer"), "may have no internet access"),
    (socket.timeout("timed out"), "may have no internet access"),
    (OSError(28, "No space left on device"), "the disk may be full or the folder read-only"),
    (PermissionError(13, "Permission denied"), "the disk may be full or the folder read-only"),
    (RuntimeError("File not found or corrupted."), "the archive corrupt"),
])
def test_the_message_names_the_likely_cause(tmp_path: Path, error: Exception, cause: str) -> None:
    # A full disk used to be reported as "may have no internet access".
    class Failing(StandInDataset):
        def __init__(self, root: str, download: bool = False, **kwargs: Any) -> None:
            raise error

    with pytest.raises(DatasetUnavailableError, match="ATTN_DATA=offline") as info:
        fetch_torchvision_dataset(Failing, tmp_path / "x", split="train")
    assert cause in str(info.value)
    others = {"may have no internet access", "the disk may be full or the folder read-only", "the archive corrupt"}
    assert not any(other in str(info.value) for other in others - {cause})
