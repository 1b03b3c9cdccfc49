"""Every notebook in notebooks/ is committed clean and runs headless (nbclient) with RLKIT_FAST=1.

This checks that cells run and widgets are emitted; only tests/browser/ checks that they render.
A notebook that shows no widget on purpose says so in its metadata:
`{"rlkit": {"expect_widgets": false}}`. Clear a notebook's outputs before committing with
`python tests/test_notebooks.py --clear notebooks/NAME.ipynb`.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = int(os.environ.get("RLKIT_NB_CELL_TIMEOUT", "300"))  # seconds, per cell
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _read(path: pathlib.Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _dirty_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]


def kernel_env() -> dict[str, str]:
    """Our environment for the kernel, minus MPLBACKEND (it would disable the inline backend), plus RLKIT_FAST=1."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env["RLKIT_FAST"] = "1"  # notebooks shrink their step counts
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory) -> pathlib.Path:
    """A temp copy of notebooks/: cells run there, so files they write never land in the repo."""
    dst = tmp_path_factory.mktemp("notebooks") / "notebooks"
    shutil.copytree(REPO / "notebooks", dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dst


def _run(path: pathlib.Path):
    """Execute `path` cell by cell in a fresh kernel of this interpreter; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = _read(path)
    # kernel_name "python3" resolves to this venv's kernelspec (sys.prefix) or ipykernel's
    # built-in one; both launch sys.executable.
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    failure = None
    with client.setup_kernel(env=kernel_env(), cwd=str(path.parent)):
        for i, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, i)  # cells tagged "raises-exception" may raise
            except CellExecutionError as err:  # its text: the cell's source, then the traceback
                failure = f"{path.name}: cell {i} raised {err.ename}: {err.evalue}\n{_ANSI.sub('', str(err))}"
                break
    if failure:
        pytest.fail(failure, pytrace=False)
    nbformat.validate(nb)
    return nb


if NOTEBOOKS:  # none yet: this module collects zero items instead of an empty-parameter skip
    ids = [p.name for p in NOTEBOOKS]

    @pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
    def test_notebook_is_committed_clean(path: pathlib.Path):
        nb = _read(path)
        dirty = _dirty_cells(nb)
        assert not dirty, (
            f"{path.name}: code cells {dirty} have outputs or execution counts. "
            f"Clear them: python tests/test_notebooks.py --clear notebooks/{path.name}"
        )
        assert "widgets" not in nb.metadata, (
            f"{path.name}: saved widget state in the notebook metadata. "
            f"Clear it: python tests/test_notebooks.py --clear notebooks/{path.name}"
        )

    @pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
    def test_notebook_runs(path: pathlib.Path, notebook_dir: pathlib.Path):
        nb = _run(notebook_dir / path.name)
        if nb.metadata.get("rlkit", {}).get("expect_widgets", True):
            views = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                     for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
            assert views, (
                f"{path.name} ran but displayed no widget ({WIDGET_VIEW}). If that is intended, "
                'set the notebook metadata {"rlkit": {"expect_widgets": false}}.'
            )


def clear(paths: list[str]) -> None:
    """Strip outputs, execution counts and saved widget state, in place."""
    import nbformat

    for p in paths:
        nb = _read(pathlib.Path(p))
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, p)
        print(f"cleared {p}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--clear":
        sys.exit("usage: python tests/test_notebooks.py --clear NOTEBOOK.ipynb [...]")
    clear(sys.argv[2:])
