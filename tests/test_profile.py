"""Tests of attn_helpers.profile: choosing smoke/reduced/full and the run header."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from attn_helpers import PROFILE_ENV_VAR, PROFILE_NAMES, RunProfile, describe_run, get_profile


def test_constants() -> None:
    assert PROFILE_ENV_VAR == "ATTN_PROFILE"
    assert PROFILE_NAMES == ("smoke", "reduced", "full")


def test_conftest_cleared_the_environment() -> None:
    assert get_profile(device="cpu").source == "default for cpu"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_explicit_name(name: str) -> None:
    assert get_profile(name) == RunProfile(name, "argument")


def test_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTN_PROFILE", "smoke")
    assert get_profile("full", device="cpu") == RunProfile("full", "argument")


@pytest.mark.parametrize("raw", ["smoke", " SMOKE ", "Smoke\n"])
def test_environment_variable_is_trimmed_and_case_insensitive(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("ATTN_PROFILE", raw)
    profile = get_profile(device="cuda")  # the variable beats the device default
    assert profile == RunProfile("smoke", "ATTN_PROFILE")
    assert profile.is_smoke


def test_empty_environment_variable_falls_back_to_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTN_PROFILE", "  ")
    assert get_profile(device="cpu").name == "reduced"


@pytest.mark.parametrize(
    ("device", "expected"),
    [("cpu", "reduced"), (torch.device("cpu"), "reduced"), ("cuda", "full"),
     (torch.device("cuda", 0), "full"), ("mps", "reduced")],
)
def test_default_follows_the_device(device, expected: str) -> None:
    profile = get_profile(device=device)
    assert profile.name == expected
    assert profile.source == f"default for {torch.device(device).type}"


@pytest.mark.parametrize(("cuda", "expected"), [(True, "full"), (False, "reduced")])
def test_default_without_device_asks_torch(monkeypatch: pytest.MonkeyPatch, cuda: bool, expected: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert get_profile().name == expected


@pytest.mark.parametrize("name", ["tiny", "SMOKE", "", "full "])
def test_unknown_name_raises_naming_the_argument(name: str) -> None:
    with pytest.raises(ValueError, match=r"name must be one of \['full', 'reduced', 'smoke'\]"):
        get_profile(name)


def test_unknown_environment_value_raises_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTN_PROFILE", "quick")
    with pytest.raises(ValueError, match="ATTN_PROFILE must be one of .*got 'quick'"):
        get_profile()


def test_pick_returns_the_value_of_the_profile() -> None:
    picks = {name: RunProfile(name, "test").pick(smoke=1, reduced=5, full=30) for name in PROFILE_NAMES}
    assert picks == {"smoke": 1, "reduced": 5, "full": 30}
    assert [RunProfile(n, "t").is_smoke for n in PROFILE_NAMES] == [True, False, False]


def test_pick_needs_all_three_values() -> None:
    with pytest.raises(TypeError, match="full"):
        RunProfile("smoke", "t").pick(smoke=1, reduced=2)  # type: ignore[call-arg]


def test_run_profile_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunProfile("smoke", "t").name = "full"  # type: ignore[misc]


def test_describe_run_names_profile_device_versions_and_seed() -> None:
    line = describe_run(RunProfile("smoke", "ATTN_PROFILE"), torch.device("cpu"), seed=3)
    assert line == f"profile: smoke (ATTN_PROFILE) | device: cpu | torch {torch.__version__} | seed 3"


def test_describe_run_without_seed() -> None:
    line = describe_run(get_profile("reduced"), torch.device("cpu"))
    assert line.startswith("profile: reduced (argument) | device: cpu | torch ")
    assert "seed" not in line


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", 3.5])
def test_a_device_that_is_not_one_is_named_whatever_decides_the_profile(
    monkeypatch: pytest.MonkeyPatch, device: object
) -> None:
    # get_profile(device="tpu") used to end in torch's raw RuntimeError
    monkeypatch.delenv("ATTN_PROFILE", raising=False)
    with pytest.raises(ValueError, match=r"device=.* is not a device"):
        get_profile(device=device)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"device=.* is not a device"):
        get_profile("smoke", device=device)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"device=.* is not a device"):
        describe_run(RunProfile("smoke", "t"), device)  # type: ignore[arg-type]
