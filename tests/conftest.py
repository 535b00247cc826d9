"""Fixtures shared by the unit tests of ``attn_helpers``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)  # before anything imports pyplot: no window, no display

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _agg_backend_and_close_figures() -> Iterator[None]:
    """Draw off-screen and close every figure a test opened."""
    plt.switch_backend("Agg")
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _clean_run_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no ``ATTN_PROFILE``/``ATTN_DATA``, even when CI exports ``ATTN_PROFILE=smoke``.

    A test that needs one sets it with ``monkeypatch.setenv``.
    """
    monkeypatch.delenv("ATTN_PROFILE", raising=False)
    monkeypatch.delenv("ATTN_DATA", raising=False)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once per test session (warnings as errors) and return ``_build/html``."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return root / "_build" / "html"
