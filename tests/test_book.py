"""The book as a whole: configuration, table of contents, notebook hygiene, build."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def _toc_files() -> list[str]:
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


def _cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters() -> None:
    assert CHAPTERS, "chapters/ holds no notebook"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists() -> None:
    toc = _toc_files()
    for notebook in CHAPTERS:
        assert f"chapters/{notebook.stem}" in toc, f"{notebook.name} is missing from _toc.yml"
    for entry in toc:
        matches = list(ROOT.glob(entry + ".*"))
        assert matches, f"_toc.yml lists {entry}, which does not exist"


def test_chapters_are_in_teaching_order() -> None:
    numbers = [int(f.split("/")[1][:2]) for f in _toc_files() if f.startswith("chapters/")]
    assert numbers == sorted(numbers)


def _toc_chapter_label(stem: str) -> str:
    """The label a chapter goes by: its title's number ("9", "3b"), else the title's first word ("Appendix")."""
    notebook = ROOT / "chapters" / f"{stem}.ipynb"
    if not notebook.exists():  # listed before it lands: the file name's number
        return re.match(r"0*(\d+[a-z]?)_", stem).group(1)
    title = _source(_cells(notebook)[0]).splitlines()[0]
    match = re.match(r"# (\d+[a-z]?)\. ", title)
    return match.group(1) if match else re.match(r"# (\w+)", title).group(1)


def test_chapter_titles_carry_the_number_of_their_file() -> None:
    for notebook in CHAPTERS:
        label = _toc_chapter_label(notebook.stem)
        if label[0].isdigit():
            assert label == re.match(r"0*(\d+[a-z]?)_", notebook.stem).group(1), (
                f"{notebook.name}: title number {label} does not match the file name")


def test_intro_and_readme_list_every_chapter_of_the_toc_in_order() -> None:
    # Derived from _toc.yml, so a chapter added there fails here until the front matter lists it.
    stems = [f.split("/", 1)[1] for f in _toc_files() if f.startswith("chapters/")]
    intro = (ROOT / "book" / "intro.md").read_text()
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(r"\.\./chapters/([\w-]+)>", intro)
    assert linked == stems, f"book/intro.md must link the toc's chapters in order: {linked} != {stems}"
    for stem in stems:
        line = next(line for line in intro.splitlines() if f"../chapters/{stem}>" in line)
        label = _toc_chapter_label(stem)
        assert f"**{label}.**" in line, f"book/intro.md lists {stem} without its label {label!r}: {line}"
    listed = re.findall(r"\(chapters/([\w-]+)\.ipynb\)", readme)
    assert listed == stems, f"README.md must list the toc's chapters in order: {listed} != {stems}"


def test_repository_url_is_one_setting_that_badges_and_setup_cells_agree_with() -> None:
    url = CONFIG["repository"]["url"].rstrip("/")
    branch = CONFIG["repository"]["branch"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", url)
    assert match, f"repository.url {url!r} is not a GitHub repository URL"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    for notebook in CHAPTERS:
        text = "\n".join(_source(c) for c in _cells(notebook))
        badge = f"https://colab.research.google.com/github/{match.group(1)}/blob/{branch}/chapters/{notebook.name}"
        assert badge in text, f"{notebook.name}: Colab badge must link to {badge}"
        assert f"git+{url}" in text, f"{notebook.name}: setup cell must install from {url}"
        every_url = set(re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:/blob|\"|$|\s)", text))
        assert every_url <= {match.group(1)}, f"{notebook.name} names another repository: {every_url}"


def test_setup_cells_pin_the_package_version_kept_in_one_place() -> None:
    # The version lives in attn_helpers.__version__ only (pyproject.toml reads it, see
    # test_public_api); every chapter's setup cell installs its git tag (tools/sync_setup_cells.py).
    import attn_helpers

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from sync_setup_cells import package_version, setup_cell_source
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert package_version() == attn_helpers.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", attn_helpers.__version__)
    expected = setup_cell_source()
    assert f'HELPERS_VERSION = "{attn_helpers.__version__}"' in expected and "@v{HELPERS_VERSION}" in expected
    for notebook in CHAPTERS:
        first_code = next(c for c in _cells(notebook) if c["cell_type"] == "code" and _source(c).strip())
        assert _source(first_code) == expected, (
            f"{notebook.name}: setup cell out of date; run python tools/sync_setup_cells.py")


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_committed_cleanly_executed(notebook: Path) -> None:
    cells = _cells(notebook)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# "), "title first"
    code = [c for c in cells if c["cell_type"] == "code" and _source(c).strip()]
    assert 'if importlib.util.find_spec("attn_helpers") is None' in _source(code[0]), (
        "first code cell installs the helper package wherever it is missing (Colab, Kaggle, a download)")
    assert any("describe_run(" in _source(c) for c in code[:3]), "run header printed near the top"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-run top to bottom in a fresh kernel"
    host_path = re.compile(r"(/work/|/root/|/home/\w|/tmp/)")
    for cell in code:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"stored error: {output.get('ename')}"
            text = json.dumps(output.get("text", "")) + json.dumps(output.get("data", {}).get("text/plain", ""))
            assert not host_path.search(text), f"an output shows a path of this machine: {text[:200]}"
            assert "image/svg+xml" not in output.get("data", {}), "SVG outputs defeat nbval; use PNG"


def test_book_builds_with_warnings_as_errors(built_book: Path) -> None:
    for notebook in CHAPTERS:
        page = (built_book / "chapters" / f"{notebook.stem}.html").read_text()
        assert "<img" in page, f"{notebook.name} renders without figures"
    first = (built_book / "chapters" / f"{CHAPTERS[0].stem}.html").read_text()
    assert "_static/mathjax/" in first, "MathJax must be served locally (offline readers)"
