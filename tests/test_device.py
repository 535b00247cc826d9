"""Tests of attn_helpers.device.choose_device (availability is faked, so no GPU is needed)."""

from __future__ import annotations

import pytest
import torch

import attn_helpers as ah
from attn_helpers import choose_device


@pytest.fixture
def fake_accelerators(monkeypatch: pytest.MonkeyPatch):
    """Return a setter that fakes which accelerators ``torch`` reports."""

    def set_available(*, cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_available


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_automatic_choice_prefers_cuda_then_mps_then_cpu(
    fake_accelerators, cuda: bool, mps: bool, expected: str
) -> None:
    fake_accelerators(cuda=cuda, mps=mps)
    device = choose_device()
    assert isinstance(device, torch.device)
    assert device.type == expected


@pytest.mark.parametrize("preferred", ["cpu", torch.device("cpu"), "cpu:0"])
def test_preferred_cpu_wins_even_when_cuda_is_available(fake_accelerators, preferred) -> None:
    fake_accelerators(cuda=True, mps=True)
    assert choose_device(preferred).type == "cpu"


def test_preferred_accelerator_that_is_available_is_returned(fake_accelerators) -> None:
    fake_accelerators(cuda=True, mps=True)
    assert choose_device("cuda:1") == torch.device("cuda", 1)
    assert choose_device("mps").type == "mps"


@pytest.mark.parametrize("preferred", ["cuda", "cuda:0", torch.device("cuda")])
def test_preferred_cuda_without_cuda_raises(fake_accelerators, preferred) -> None:
    fake_accelerators(cuda=False, mps=False)
    with pytest.raises(ValueError, match="preferred=.*CUDA is not available"):
        choose_device(preferred)


def test_preferred_mps_without_mps_raises(fake_accelerators) -> None:
    fake_accelerators(cuda=False, mps=False)
    with pytest.raises(ValueError, match="preferred='mps' but MPS is not available"):
        choose_device("mps")


@pytest.mark.parametrize("preferred", ["gpu", "", "cuda:x", 3.5])
def test_preferred_that_is_not_a_device_raises_value_error(preferred) -> None:
    with pytest.raises(ValueError, match="preferred=.* is not a device"):
        choose_device(preferred)


@pytest.mark.parametrize("capability, expected", [((7, 5), torch.float16), ((7, 0), torch.float16),
                                                  ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_autocast_dtype_follows_compute_capability(monkeypatch, capability, expected):
    # A T4 (7.5) reports bf16 "supported" through emulation; the book must pick fp16 there.
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert ah.autocast_dtype("cuda") is expected


def test_autocast_dtype_is_none_off_cuda():
    assert ah.autocast_dtype("cpu") is None


@pytest.mark.parametrize("preferred", ["meta", "xla"])
def test_preferred_device_the_book_does_not_run_on_raises(preferred: str) -> None:
    with pytest.raises(ValueError, match=f"preferred='{preferred}' is not a device this book runs on"):
        choose_device(preferred)
