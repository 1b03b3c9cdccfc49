"""The README's promises hold: it opens with the two setup commands, its tour runs, its links resolve.

Every ```python block of README.md is executed, in order, in one namespace, in a fresh
interpreter whose working directory is a temp dir (the tour may write checkpoints) and whose
matplotlib backend is Agg. Each block is compiled with the file name ``README.md`` and its own
line numbers, so a failure's traceback points at the README line that broke.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
README = REPO / "README.md"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_blocks(text: str, language: str | None = None) -> list[tuple[int, str, str]]:
    """``(first code line number, language, code)`` for every fenced block, in order."""
    blocks = []
    for m in _FENCE.finditer(text):
        first_line = text.count("\n", 0, m.start(2)) + 1
        if language is None or m.group(1) == language:
            blocks.append((first_line, m.group(1), m.group(2)))
    return blocks


def test_code_blocks_parser_finds_line_numbers():
    text = "# t\n\n```bash\nls\n```\n\ntext\n```python\nx = 1\ny = 2\n```\n"
    assert code_blocks(text) == [(4, "bash", "ls\n"), (9, "python", "x = 1\ny = 2\n")]
    assert code_blocks(text, "python") == [(9, "python", "x = 1\ny = 2\n")]


@pytest.fixture(scope="module")
def readme() -> str:
    assert README.is_file(), "README.md is missing"
    return README.read_text(encoding="utf-8")


def test_readme_opens_with_the_two_setup_commands(readme: str):
    first_line, language, code = code_blocks(readme)[0]
    head = readme.split("\n## ", 1)[0]  # the title and what comes before the first section
    assert first_line < len(head.splitlines()), "the first code block must come before the first '## ' section"
    assert language in ("bash", "sh", "shell"), f"the first code block must be shell commands, got {language!r}"
    commands = [line.split("#", 1)[0].strip() for line in code.splitlines() if line.split("#", 1)[0].strip()]
    assert commands == ["bash scripts/dev.sh lab", "bash scripts/dev.sh test"], commands
    script = (REPO / "scripts" / "dev.sh").read_text()
    assert "cmd_lab" in script and "cmd_test" in script


def test_readme_tour_runs(readme: str, tmp_path: pathlib.Path):
    blocks = code_blocks(readme, "python")
    assert len(blocks) >= 3, f"expected a tour of several ```python blocks, found {len(blocks)}"
    runner = textwrap.dedent(
        """
        import sys
        blocks = {blocks!r}
        namespace = {{"__name__": "__main__"}}
        for first_line, code in blocks:
            print(f"--- README.md block at line {{first_line}}", flush=True)
            exec(compile("\\n" * (first_line - 1) + code, {readme!r}, "exec"), namespace)
        print("README TOUR OK", flush=True)
        """
    ).format(blocks=[(line, code) for line, _, code in blocks], readme=str(README))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-c", runner], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "README TOUR OK" in proc.stdout, f"the README tour failed:\n{output[-6000:]}"


def test_readme_links_resolve(readme: str):
    local = [link for link in _LINK.findall(readme) if not re.match(r"[a-z]+:", link) and not link.startswith("#")]
    missing = [link for link in local if not (REPO / link.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_links_every_notebook_and_screenshot(readme: str):
    links = set(_LINK.findall(readme))
    notebooks = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks in notebooks/"
    unlinked = [nb for nb in notebooks if nb not in links]
    assert not unlinked, f"README.md does not link these notebooks: {unlinked}"
    for image in ("docs/img/viewer.png", "docs/img/composer.png"):
        assert image in links, f"README.md does not show {image}"
    assert "scripts/make_screenshots.py" in readme, "the README must say how the screenshots are made"


def test_readme_names_existing_benchmark_scripts(readme: str):
    named = set(re.findall(r"bench/\w+\.py", readme))
    assert named, "the README's benchmark section names no bench/*.py script"
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert not missing, f"README.md names benchmark scripts that do not exist: {missing}"
