"""The MkDocs hook that makes every number and figure on the site come from running the examples.

A page asks for an example's output with markers on lines of their own:

    <!-- run: examples/<slug>.py -->              the script's stdout, as a fenced block
    <!-- figure: examples/<slug>.py NAME.png -->  the image NAME.png the script saved

Each script named by a marker runs once per build (all of them before the pages are read, a few at
a time), from the repository root, with RETROGRAD_FIGURES set to an empty directory of its own: the
figures it saves there become files of the site (docs/figures/<slug>/NAME.png in the built site;
nothing is written into docs/). A script that fails, or a figure it did not save, fails the build
and names the page, the script and its last lines of stderr. When matplotlib is not installed the
scripts skip their figures, and a figure marker becomes a line saying which extra draws it.

With RETROGRAD_DOCS_PRERUN naming a folder, the scripts are not run: each one's output is read from
<folder>/<stem>.txt and its figures from <folder>/<stem>/ (the tests build the site this way from the runs
of the examples they already made; tests/test_examples.py `run_printing`).

The hook also keeps the Questions section complete: every page in docs/questions/ not listed in
mkdocs.yml's nav is appended to the nav's "Questions" section (sorted by title), and the line
`<!-- questions-index -->` in questions/index.md becomes a list of them all.
"""
import concurrent.futures
import importlib.util
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

RUN = re.compile(r"^<!--\s*run:\s*(\S+\.py)\s*-->[ \t]*$", re.MULTILINE)
FIGURE = re.compile(r"^<!--\s*figure:\s*(\S+\.py)\s+(\S+\.png)\s*-->[ \t]*$", re.MULTILINE)
QUESTIONS_INDEX = "<!-- questions-index -->"
QUESTIONS_SECTION = "Questions"
PRERUN_VARIABLE = "RETROGRAD_DOCS_PRERUN"
SCRIPT_TIMEOUT_S = 300  # a hard stop for a hung script; the examples take seconds
FIGURES_URI = "figures"  # where the generated images live in the built site

_runs = {}  # script (relative to the repository) -> Run, for this build
_workdirs = []  # the temporary folders of this build's figures, removed once the site is written


class Run:
    """One script's run: its stdout and the directory holding the figures it saved."""

    def __init__(self, script, stdout, figures):
        self.script, self.stdout, self.figures = script, stdout, Path(figures)


def _repository(config):
    return Path(config.config_file_path).resolve().parent


def _title(path):
    """A page's title: its first `# ` heading, else its file name."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ")


def _listed(nav):
    """Every page path named anywhere in a nav (nested sections included)."""
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            yield from _listed(value)
        elif isinstance(value, str):
            yield value


def question_pages(docs_dir):
    """(title, path relative to docs_dir) of every question page, sorted by title (the index page aside)."""
    pages = [p for p in sorted((Path(docs_dir) / "questions").glob("*.md")) if p.name != "index.md"]
    return sorted(((_title(p), p.relative_to(docs_dir).as_posix()) for p in pages), key=lambda pair: pair[0].lower())


def on_config(config):
    """Append the question pages mkdocs.yml does not list to its Questions section."""
    section = next((item for item in config.nav or [] if isinstance(item, dict) and QUESTIONS_SECTION in item), None)
    if section is None:
        raise PluginError(f"docs/hooks/examples.py: mkdocs.yml's nav needs a '{QUESTIONS_SECTION}' section")
    listed = set(_listed(config.nav))
    section[QUESTIONS_SECTION] += [{title: path} for title, path in question_pages(config.docs_dir)
                                   if path not in listed]
    return config


def on_pre_build(config):
    _runs.clear()


def on_post_build(config):
    """The figures were copied into the site: remove their temporary folders."""
    while _workdirs:
        shutil.rmtree(_workdirs.pop(), ignore_errors=True)


def on_build_error(error):
    on_post_build(None)


def _run_script(repository, script, figures):
    env = dict(os.environ, RETROGRAD_FIGURES=str(figures), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(repository), os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run([sys.executable, script], cwd=repository, env=env, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PluginError(f"docs hook: {script} ran longer than {SCRIPT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise PluginError(f"docs hook: {script} failed (exit status {done.returncode}):\n{tail}")
    return Run(script, done.stdout, figures)


def on_files(files, config):
    """Run every script a page names (a few at a time) and add the figures they saved to the site."""
    repository = _repository(config)
    scripts = set()
    for file in files.documentation_pages():
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        scripts.update(RUN.findall(text))
        scripts.update(script for script, _ in FIGURE.findall(text))
    for script in sorted(scripts):
        if not (repository / script).is_file():
            raise PluginError(f"docs hook: a page names {script}, which does not exist")
    prerun = os.environ.get(PRERUN_VARIABLE)
    if prerun:
        for script in sorted(scripts):
            _runs[script] = _read_prerun(Path(prerun), script)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="retrograd-docs-"))
        _workdirs.append(workdir)
        jobs = min(4, os.cpu_count() or 1)
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = {script: pool.submit(_run_script, repository, script, _figure_dir(workdir, script))
                       for script in sorted(scripts)}
            for script, future in futures.items():
                _runs[script] = future.result()
    for script, run in sorted(_runs.items()):
        for image in sorted(run.figures.glob("*.png")):
            files.append(File.generated(config, f"{FIGURES_URI}/{Path(script).stem}/{image.name}",
                                        abs_src_path=str(image)))
    return files


def _read_prerun(folder, script):
    stem = Path(script).stem
    if not (folder / f"{stem}.txt").is_file():
        raise PluginError(f"docs hook: {PRERUN_VARIABLE} has no output of {script} ({folder / stem}.txt)")
    return Run(script, (folder / f"{stem}.txt").read_text(encoding="utf-8"), folder / stem)


def _figure_dir(workdir, script):
    directory = workdir / Path(script).stem
    directory.mkdir()
    return directory


def on_page_markdown(markdown, page, config, files):
    """Replace the run / figure markers of a page, and the questions index marker."""
    where = page.file.src_uri

    def output(match):
        return "```text\n" + _runs[match.group(1)].stdout.rstrip("\n") + "\n```"

    def figure(match):
        script, name = match.groups()
        run = _runs[script]
        if not (run.figures / name).is_file():
            if importlib.util.find_spec("matplotlib") is None:
                return f'*(The figure {name} is drawn with matplotlib: `pip install "retrograd[plot]"`.)*'
            raise PluginError(f"docs hook: {where} shows {name}, which {script} did not save "
                              f"(it saved: {sorted(p.name for p in run.figures.glob('*.png')) or 'nothing'})")
        target = f"{FIGURES_URI}/{Path(script).stem}/{name}"
        return f"![{name}]({posixpath.relpath(target, posixpath.dirname(where) or '.')})"

    markdown = RUN.sub(output, markdown)
    markdown = FIGURE.sub(figure, markdown)
    if QUESTIONS_INDEX in markdown:
        here = posixpath.dirname(where) or "."
        listing = "\n".join(f"- [{title}]({posixpath.relpath(path, here)})"
                            for title, path in question_pages(config.docs_dir))
        markdown = markdown.replace(QUESTIONS_INDEX, listing)
    return markdown
