"""NNabla's Python API tutorial, run verbatim as an IPython script (magics included), checked for meaning.

The notebook version is checked output-for-output by nbval (`make test-notebooks`); this test runs the same code
cells as one script and checks what the printed numbers mean: references agree, training converges.
"""

import os
import re
import subprocess
import sys

import nbformat
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOK = os.path.join(HERE, "..", "tutorials", "python_api.ipynb")


def run_tutorial(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    script = tmp_path / "python_api.ipy"
    script.write_text("\n\n".join(c.source for c in nb.cells if c.cell_type == "code") + "\n")
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_tutorial_runs_verbatim_and_trains(tmp_path):
    out = run_tutorial(tmp_path)
    cg = float(re.search(r"CG output: ([-\d.e]+)", out).group(1))
    ref = float(re.search(r"Reference: ([-\d.e]+)", out).group(1))
    assert abs(cg - ref) < 1e-4 * abs(ref)
    losses = [float(v) for v in re.findall(r"Loss@\s*\d+: ([-\d.e]+)", out)]
    assert len(losses) == 21
    assert losses[0] > 0.1, "the untrained network starts far from the target"
    assert losses[-1] < 0.005, f"training must converge below 0.005, got {losses[-1]}"
    assert "Shapes: (16, 512) (16, 1)" in out
    # the imperative-mode example: relu(xi - 1) on [[0, 1], [2, 3]]
    assert re.search(r"\[\[0\. 0\.\]\s*\[1\. 2\.\]\]", out)
    # parameters loaded under scope 'foo' appear with the prefix, after the top-level ones
    names = re.findall(r"\('([\w/]+)', <Variable", out)
    assert names[-10:] == [f"foo/{n}" for n in names[-20:-10]]
    assert not (tmp_path / "param-vector2length.h5").exists(), "the final `!rm` cell cleans up"
    assert np.isfinite(losses).all()
