"""Fingerprints keep their values: training cache keys and run-index records depend on them."""

from __future__ import annotations

from path_unlearning import run_index
from path_unlearning.fingerprints import fingerprint
from path_unlearning.modeling import model


def test_values_are_those_of_earlier_versions() -> None:
    # Computed with the function as it was in modeling/model.py before it moved here.
    assert fingerprint({"b": 2, "a": [1, 2.5, None]}, "AB", 7) == "d0db9498352a487e"
    assert fingerprint({"seed": 0, "path": "BCA", "lr": 1e-3}) == "3059816f74cdde5c"
    assert fingerprint() == "4f53cda18c2baa0c"


def test_one_function_everywhere() -> None:
    assert model.fingerprint is fingerprint
    parameters = {"seed": 0, "path": "BCA", "lr": 1e-3}
    assert run_index.parameter_fingerprint(parameters) == "3059816f74cdde5c"
