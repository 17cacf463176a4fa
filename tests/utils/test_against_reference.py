"""Data iterators, data sources, caches, schedulers and image I/O give what NNabla 1.36 gives.

Each scenario in ``scenarios.py`` ran on real NNabla (``tests/reference/make_utils_fixtures.py``) to make
``fixtures/utils_reference.json``; here it runs on the engine and the two results must be equal (floats to
pytest's default relative tolerance).
"""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import scenarios  # noqa: E402

REFERENCE = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "utils_reference.json")))


def _approx(value):
    """Expected JSON data with every float compared approximately."""
    if isinstance(value, float):
        return pytest.approx(value)
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", sorted(scenarios.ALL))
def test_scenario_matches_nnabla(name, tmp_path):
    got = json.loads(json.dumps(scenarios.ALL[name](str(tmp_path))))
    expected = REFERENCE[name]
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        for key in expected:
            assert got[key] == _approx(expected[key]), key
    else:
        assert got == _approx(expected)
