"""The documentation runs: every ```python block of README.md and examples/README.md, as a reader would paste it.

Each block runs in a fresh namespace, in an empty temporary working directory (so a block that writes files
leaves nothing in the repository), with its printed output captured.
"""
import contextlib
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "examples/README.md")
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(document):
    """(first line number, code) of each ```python block of `document` (a path relative to the repository)."""
    text = (REPO / document).read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in PYTHON_BLOCK.finditer(text)]


BLOCKS = [pytest.param(document, line, code, id=f"{document}:{line}")
          for document in DOCUMENTS for line, code in python_blocks(document)]


def test_the_extractor_finds_the_readme_blocks():
    blocks = python_blocks("README.md")
    assert blocks, "README.md has no ```python block: the tests below would check nothing"
    line, code = blocks[0]
    assert (REPO / "README.md").read_text(encoding="utf-8").splitlines()[line - 1] == code.splitlines()[0]


@pytest.mark.parametrize("document, line, code", BLOCKS)
def test_python_block_runs(document, line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # padded with blank lines, so a traceback gives the line number in the document
        exec(compile("\n" * (line - 1) + code, document, "exec"), {"__name__": "__main__"})
