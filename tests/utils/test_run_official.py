"""The official-notebook runner: drops only ``!``/``%`` lines, runs cells in one namespace, reports per cell."""

import importlib.util
import json
import os

import nbformat

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location("run_official", os.path.join(HERE, "..", "official", "run_official.py"))
run_official = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_official)


def _notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))


def test_magics_and_shell_lines_are_dropped_and_nothing_else(tmp_path):
    path = tmp_path / "a.ipynb"
    cells = ["!pip install x\n%cd somewhere\nimport os\n  %matplotlib inline\nx = 1  # 100% sure", "%%time\ny = 2"]
    _notebook(path, cells)
    assert run_official.code_cells(str(path)) == ["import os\nx = 1  # 100% sure", "y = 2"]


def test_cells_share_one_namespace_and_the_first_error_is_reported(tmp_path):
    path = tmp_path / "lesson.ipynb"
    (tmp_path / "helper.py").write_text("VALUE = 41\n")
    _notebook(path, ["from helper import VALUE", "answer = VALUE + 1", "1 / 0", "assert answer == 42"])
    result = run_official.run_notebook(str(path), timeout=120, numpy_aliases=False)
    assert result["cells"] == 4
    assert [r["ok"] for r in result["records"]] == [True, True, False, True]
    line = run_official.summary_line(result)
    assert "3/4" in line and "first error, cell 2: ZeroDivisionError" in line
    json.dumps(result)


def test_shell_cells_run_in_their_shell(tmp_path):
    path = tmp_path / "b.ipynb"
    _notebook(path, ["%%bash\necho hi > out.txt\nexport X=1", "import os\nassert open('out.txt').read() == 'hi\\n'"])
    assert run_official.code_cells(str(path))[0] == (
        "__import__('subprocess').run(['bash', '-c', 'echo hi > out.txt\\nexport X=1'], check=True)"
    )
    result = run_official.run_notebook(str(path), timeout=120, numpy_aliases=False)
    assert [r["ok"] for r in result["records"]] == [True, True]


def test_px_cells_run_on_every_rank_and_client_cells_on_rank_0(tmp_path):
    """``%%px`` (ipyparallel) notebooks run under mpiexec: a cell counts as run when every rank that ran it did."""
    path = tmp_path / "px.ipynb"
    cells = [
        "import ipyparallel_is_not_here",  # the client's cell: rank 0 only
        "%%px\nimport os\nrank = int(os.environ['PMI_RANK'])",
        "%%px\nassert rank == 0, 'only rank 0 passes'",
        "seen = rank",  # rank 0 only: it ran the px cells too
    ]
    _notebook(path, cells)
    assert run_official.uses_px(str(path)) and [e for _, e in run_official.code_cells(str(path), px=True)] == [
        False, True, True, False]  # fmt: skip
    result = run_official.run_notebook(str(path), timeout=120, numpy_aliases=False, mpi=2)
    records = result["records"]
    assert [(r["ok"], r["ranks"]) for r in records] == [(False, 1), (True, 2), (False, 2), (True, 1)]
    assert records[2]["error"].startswith("rank 1: AssertionError") and "(2 MPI processes)" in (
        run_official.summary_line(result))  # fmt: skip
