"""How Colab gets the helper package: ``pip install git+<repo>`` builds it from pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_dependencies_are_lower_bounds_so_colab_keeps_its_torch() -> None:
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert re.fullmatch(r"[\w-]+>=[\d.]+", requirement), f"{requirement!r}: use a lower bound only"
    names = {re.split(r"[<>=]", r)[0] for r in PYPROJECT["project"]["dependencies"]}
    assert {"torch", "torchvision", "numpy"} <= names


def test_requirements_pin_what_ci_installs_and_admit_the_torch_cap() -> None:
    pins = dict(
        line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_wheel_contains_every_module_of_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("attn_helpers-*.whl")
    import attn_helpers

    assert wheel.name.startswith(f"attn_helpers-{attn_helpers.__version__}-"), "version read from __version__"
    packaged = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "attn_helpers").rglob("*.py")}
    assert source and source <= packaged, f"missing from the wheel: {sorted(source - packaged)}"
