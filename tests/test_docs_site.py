"""The documentation site builds with `mkdocs build --strict`, and its hook does what docs/CONTRIBUTING.md says.

The hook's behaviour is checked on small sites made in a temporary directory (a page, a script, the real hook);
then the real site is built once, strictly, which runs every example a page names.
"""
import contextlib
import io
import logging
import re
import sys
import textwrap
from pathlib import Path

import pytest
from mkdocs import config as mkdocs_config
from mkdocs.commands import build
from mkdocs.exceptions import Abort

from test_examples import run_printing

REPO = Path(__file__).resolve().parents[1]
HOOK = REPO / "docs" / "hooks" / "examples.py"
RUN = re.compile(r"^<!--\s*run:\s*(\S+\.py)\s*-->[ \t]*$", re.MULTILINE)  # the hook's markers
FIGURE = re.compile(r"^<!--\s*figure:\s*(\S+\.py)\s+(\S+\.png)\s*-->[ \t]*$", re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def build_site(config_file, site_dir):
    """`mkdocs build --strict` of `config_file` into `site_dir` (an Abort when a warning was logged)."""
    config = mkdocs_config.load_config(config_file=str(config_file), strict=True, site_dir=str(site_dir))
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build.build(config)
    finally:
        config.plugins.on_shutdown()


def build_error(config_file, site_dir, caplog):
    """The error a build that must fail logged (MkDocs logs a hook's PluginError and aborts)."""
    with caplog.at_level(logging.ERROR), pytest.raises(Abort, match="BuildError"):
        build_site(config_file, site_dir)
    return "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR)


def small_site(tmp_path, pages, scripts, nav_questions=("questions/index.md",)):
    """A site in tmp_path with the real hook, `pages` {path: markdown} under docs/ and `scripts` {path: code}."""
    for path, text in {**pages, **scripts}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text), encoding="utf-8")
    listed = "".join(f"\n      - {page}" for page in nav_questions)
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: test\ndocs_dir: docs\nhooks:\n  - {HOOK}\n"
        f"nav:\n  - Home: index.md\n  - Questions:{listed}\n", encoding="utf-8")
    return tmp_path / "mkdocs.yml"


PRINTS_AND_DRAWS = """
    from retrograd.diagnostics.figures import save_figure
    print("loss 0.125 after 3 steps")
    save_figure("curve.png", lambda figure: figure.subplots().plot([1, 2, 3], [3, 1, 2]))
"""


def test_run_and_figure_markers_become_the_scripts_output_and_image(tmp_path):
    pages = {"docs/index.md": "# Home\n",
             "docs/questions/index.md": "# Questions\n\n<!-- questions-index -->\n",
             "docs/questions/why.md": """\
                 # Why does it learn?

                 <!-- run: examples/why.py -->

                 <!-- figure: examples/why.py curve.png -->
                 """}
    config = small_site(tmp_path, pages, {"examples/why.py": PRINTS_AND_DRAWS})
    build_site(config, tmp_path / "site")
    page = (tmp_path / "site" / "questions" / "why" / "index.html").read_text(encoding="utf-8")
    assert "loss 0.125 after 3 steps" in page and "<!-- run:" not in page
    assert 'src="../../figures/why/curve.png"' in page
    image = (tmp_path / "site" / "figures" / "why" / "curve.png").read_bytes()
    assert image.startswith(b"\x89PNG")
    assert not list((tmp_path / "docs").rglob("*.png"))  # nothing generated is written into docs/
    index = (tmp_path / "site" / "questions" / "index.html").read_text(encoding="utf-8")
    assert 'href="why/">Why does it learn?</a>' in index  # the unlisted page is in the index ...
    assert re.search(r'href="questions/why/"[^>]*>\s*Why does it learn\?', (tmp_path / "site" / "index.html").read_text())


def test_a_script_runs_once_per_build_however_many_markers_name_it(tmp_path):
    counter = tmp_path / "runs.txt"
    script = f"""
        with open({str(counter)!r}, "a") as f:
            f.write("ran\\n")
        print("done")
    """
    pages = {"docs/index.md": "# Home\n\n<!-- run: examples/count.py -->\n",
             "docs/questions/index.md": "# Q\n\n<!-- run: examples/count.py -->\n<!-- run: examples/count.py -->\n"}
    build_site(small_site(tmp_path, pages, {"examples/count.py": script}), tmp_path / "site")
    assert counter.read_text().splitlines() == ["ran"]


def test_a_failing_script_fails_the_build_naming_it_and_its_error(tmp_path, caplog):
    pages = {"docs/index.md": "# Home\n", "docs/questions/index.md": "# Q\n\n<!-- run: examples/broken.py -->\n"}
    config = small_site(tmp_path, pages, {"examples/broken.py": "raise ValueError('the learning rate is negative')\n"})
    error = build_error(config, tmp_path / "site", caplog)
    assert re.search(r"examples/broken\.py failed \(exit status 1\)(.|\n)*ValueError: the learning rate is negative",
                     error)


def test_a_figure_the_script_did_not_save_fails_the_build(tmp_path, caplog):
    pages = {"docs/index.md": "# Home\n",
             "docs/questions/index.md": "# Q\n\n<!-- figure: examples/why.py other.png -->\n"}
    config = small_site(tmp_path, pages, {"examples/why.py": PRINTS_AND_DRAWS})
    error = build_error(config, tmp_path / "site", caplog)
    assert "questions/index.md shows other.png, which examples/why.py did not save (it saved: ['curve.png'])" in error


def test_a_page_naming_a_missing_script_fails_the_build(tmp_path, caplog):
    pages = {"docs/index.md": "# Home\n", "docs/questions/index.md": "# Q\n\n<!-- run: examples/nowhere.py -->\n"}
    error = build_error(small_site(tmp_path, pages, {}), tmp_path / "site", caplog)
    assert "a page names examples/nowhere.py, which does not exist" in error


def test_the_nav_keeps_its_listed_question_pages_in_place_and_appends_the_rest_by_title(tmp_path):
    from mkdocs.structure.nav import get_navigation
    from mkdocs.structure.files import get_files

    pages = {"docs/index.md": "# Home\n", "docs/questions/index.md": "# Q\n",
             "docs/questions/b-page.md": "# Zeta question\n", "docs/questions/c-page.md": "# Alpha question\n",
             "docs/questions/a-page.md": "# Listed first\n"}
    config_file = small_site(tmp_path, pages, {}, nav_questions=("questions/index.md", "questions/a-page.md"))
    config = mkdocs_config.load_config(config_file=str(config_file))
    config = config.plugins.on_config(config)
    nav = get_navigation(get_files(config), config)
    questions = next(item for item in nav.items if item.title == "Questions")
    assert [child.file.src_uri for child in questions.children] == [
        "questions/index.md", "questions/a-page.md", "questions/c-page.md", "questions/b-page.md"]


def test_strict_mode_is_on_and_catches_a_broken_link(tmp_path):
    """The guard the real build relies on: a link to a missing page is a warning, and strict turns it into an error."""
    pages = {"docs/index.md": "# Home\n\n[gone](questions/gone.md)\n", "docs/questions/index.md": "# Q\n"}
    with pytest.raises(Abort, match="warnings in strict mode"):
        build_site(small_site(tmp_path, pages, {}), tmp_path / "site")


def test_the_site_builds_strictly(tmp_path, caplog, monkeypatch):
    """The real site: every page, the API reference from the docstrings, and the output and figures of every
    example a page names. The examples' main() runs once per session (test_examples.run_printing, shared with the
    tests of their numbers) and the hook reads those runs (RETROGRAD_DOCS_PRERUN) instead of running each again;
    the tests above check that the hook runs scripts itself the same way."""
    scripts = set()
    for page in (REPO / "docs").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        scripts.update(RUN.findall(text) + [script for script, _ in FIGURE.findall(text)])
    prerun = None
    for script in sorted(scripts):
        _, printed, figures = run_printing(Path(script).stem)
        (figures.parent / f"{figures.name}.txt").write_text(printed, encoding="utf-8")
        prerun = figures.parent
    if prerun is not None:
        monkeypatch.setenv("RETROGRAD_DOCS_PRERUN", str(prerun))
    with caplog.at_level(logging.WARNING):
        build_site(REPO / "mkdocs.yml", tmp_path / "site")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    site = tmp_path / "site"
    questions = sorted(p.stem for p in (REPO / "docs" / "questions").glob("*.md") if p.stem != "index")
    assert questions, "docs/questions has no page"
    index = (site / "questions" / "index.html").read_text(encoding="utf-8")
    for slug in questions:
        page = (site / "questions" / slug / "index.html").read_text(encoding="utf-8")
        assert "<!-- run:" not in page and "<!-- figure:" not in page, slug
        assert f'href="{slug}/"' in index, slug
    ops = (site / "api" / "ops" / "index.html").read_text(encoding="utf-8")
    assert "dL/dx = g * (1 - y^2)" in ops  # tanh's derivative, rendered from its docstring


@pytest.mark.parametrize("page", ["getting-started.md", "engine.md"])
def test_the_python_blocks_of_the_guides_run(page, tmp_path, monkeypatch):
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    blocks = PYTHON_BLOCK.findall(text)
    assert blocks, page
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        if code.lstrip().startswith("def tanh"):  # engine.md quotes the op's source; it is not a script
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, page, "exec"), {"__name__": "__main__"})


def test_prerun_outputs_replace_the_runs(tmp_path, caplog, monkeypatch):
    """RETROGRAD_DOCS_PRERUN: the hook reads <stem>.txt and <stem>/*.png instead of running the script."""
    prerun = tmp_path / "prerun"
    (prerun / "why").mkdir(parents=True)
    (prerun / "why.txt").write_text("printed earlier\n")
    pages = {"docs/index.md": "# Home\n", "docs/questions/index.md": "# Q\n\n<!-- run: examples/why.py -->\n"}
    config = small_site(tmp_path, pages, {"examples/why.py": "raise SystemExit('must not run')\n"})
    monkeypatch.setenv("RETROGRAD_DOCS_PRERUN", str(prerun))
    build_site(config, tmp_path / "site")
    assert "printed earlier" in (tmp_path / "site" / "questions" / "index.html").read_text(encoding="utf-8")
    (prerun / "why.txt").unlink()
    error = build_error(config, tmp_path / "site2", caplog)
    assert "RETROGRAD_DOCS_PRERUN has no output of examples/why.py" in error


def test_without_matplotlib_a_figure_marker_says_which_extra_draws_it(tmp_path, monkeypatch):
    """As where the plot extra is missing: the script (blocked by .ci/without_extras) prints a notice instead of
    drawing, and the page says what to install instead of failing the build."""
    monkeypatch.setenv("PYTHONPATH", str(REPO / ".ci" / "without_extras"))
    monkeypatch.setenv("RETROGRAD_CI_BLOCKED", "matplotlib")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the hook's own check, in this process
    pages = {"docs/index.md": "# Home\n",
             "docs/questions/index.md": "# Q\n\n<!-- run: examples/why.py -->\n\n<!-- figure: examples/why.py curve.png -->\n"}
    build_site(small_site(tmp_path, pages, {"examples/why.py": PRINTS_AND_DRAWS}), tmp_path / "site")
    page = (tmp_path / "site" / "questions" / "index.html").read_text(encoding="utf-8")
    assert "(no figure curve.png: pip install &quot;retrograd[plot]&quot;)" in page  # the script's notice
    assert "The figure curve.png is drawn with matplotlib: <code>pip install \"retrograd[plot]\"</code>" in page
    assert not (tmp_path / "site" / "figures").exists()
