"""Write every chapter's setup cell from one template, pinned to the helper package's version.

The setup cell installs ``attn_helpers`` where it is missing (Colab, Kaggle, a downloaded
notebook) from the git tag ``v<version>`` of the repository named in ``_config.yml``, so a
reader gets the helpers the stored outputs were made with, not whatever ``main`` holds today.
The version has one home, ``attn_helpers.__version__`` (``pyproject.toml`` reads it);
``tests/test_book.py`` fails when a notebook's cell differs from :func:`setup_cell_source`.

Release: bump ``__version__``, run ``python tools/sync_setup_cells.py``, re-execute the
chapters, commit, then ``git tag v<version>`` and push the tag.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = 'if importlib.util.find_spec("attn_helpers") is None'


def package_version() -> str:
    """``attn_helpers.__version__``, read without importing the package (no torch needed)."""
    tree = ast.parse((ROOT / "attn_helpers" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError("attn_helpers/__init__.py defines no __version__")


def setup_cell_source(version: str | None = None) -> str:
    """The setup cell every chapter starts its code with."""
    version = version or package_version()
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    return f'''\
# Setup: install the book's helper package where it is missing (Colab, Kaggle, a notebook
# downloaded from the book), pinned to the release this chapter's outputs were made with.
# It keeps the platform's own torch. Locally, `bash .ci/setup` installs it from the repository.
import importlib.metadata
import importlib.util

HELPERS_VERSION = "{version}"  # git tag v{version} of the book's repository
{MARKER}:
    %pip install --quiet "attn-helpers @ git+{url}@v{{HELPERS_VERSION}}"
elif importlib.metadata.version("attn-helpers") != HELPERS_VERSION:
    print(f"note: attn-helpers {{importlib.metadata.version('attn-helpers')}} is installed; this "
          f"chapter was run with {{HELPERS_VERSION}}, so its numbers may differ")'''


def main() -> int:
    source = setup_cell_source()
    changed = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.strip())
        if MARKER not in cell.source:
            raise SystemExit(f"{path.name}: first code cell is not the setup cell")
        if cell.source != source:
            cell.source = source
            nbformat.write(notebook, path)
            changed.append(path.name)
    print(f"setup cells pinned to v{package_version()}; rewritten: {', '.join(changed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
