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
