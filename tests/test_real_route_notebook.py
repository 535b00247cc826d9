"""A vision chapter runs end to end on the real route, on fake CIFAR-10 files (no network).

Chapter 4 is executed in a fresh kernel with ``ATTN_PROFILE=smoke``, ``ATTN_DATA=real`` and
``ATTN_DATA_ROOT`` pointing at a tiny CIFAR-10 tree in torchvision's on-disk format
(``tests/_fake_datasets.py``). One cell is put in front of the notebook: it tells torchvision
the MD5s of those fake files (torchvision checks every file against the real dataset's MD5,
which fake files cannot have) and makes any network connection fail. The check is that every
cell runs without an error, not that outputs match the stored (offline) ones.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from _fake_datasets import attribute_code, write_fake_cifar10

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "04_squeeze_excitation.ipynb"

NO_NETWORK = """
import socket, urllib.request
def _refuse(*args, **kwargs):
    raise AssertionError("the notebook tried to download although the files are there")
urllib.request.urlopen = _refuse
socket.create_connection = _refuse
"""


def test_chapter_4_runs_on_the_real_route_with_fake_cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attributes = write_fake_cifar10(tmp_path / "data", n_train=250, n_test=100)
    monkeypatch.setenv("ATTN_PROFILE", "smoke")
    monkeypatch.setenv("ATTN_DATA", "real")
    monkeypatch.setenv("ATTN_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    notebook = nbformat.read(CHAPTER, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(attribute_code("CIFAR10", attributes) + "\n" + NO_NETWORK))
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first cell that fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert "real route: 128 train / 64 test images of shape (3, 32, 32)" in text
    assert "notebook wall time" in text
