"""Writes tests/utils/fixtures/utils_reference.json from real NNabla 1.36 (run with the reference python).

    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_utils_fixtures.py

The same scenarios are replayed on the engine by tests/utils/; keep the two in step.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "utils"))
import scenarios  # noqa: E402  (tests/utils/scenarios.py: the scenarios both sides run)

out = {}
for name, run in scenarios.ALL.items():
    with tempfile.TemporaryDirectory() as folder:
        out[name] = run(folder)
        print(name, "ok", file=sys.stderr)
path = os.path.join(os.path.dirname(__file__), "..", "utils", "fixtures", "utils_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
print("wrote", path, file=sys.stderr)
