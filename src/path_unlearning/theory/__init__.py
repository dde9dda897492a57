"""Section 3 of the paper: staged ridge regression and gradient-ascent unlearning.

Modules: ``config`` (parameters, paths), ``instance`` (random data), ``solver``
(training, GA, Lemma 3.2, RE distance), ``bound`` (Theorem 3.1 and Corollary 1, with
the Rayleigh and smallest-eigenvalue growth rates), ``experiment`` (many instances,
tables), ``figures``. Only numpy, pandas and matplotlib; the Kedro pipeline ``theory``
wraps them.
"""

from path_unlearning.theory.bound import BOUND_KINDS, BoundTerms, bound_terms
from path_unlearning.theory.config import (
    STAGES,
    TheoryConfig,
    parse_comparisons,
    retrain_path,
)
from path_unlearning.theory.experiment import run_experiment, summarise
from path_unlearning.theory.instance import Instance, make_instance
from path_unlearning.theory.solver import (
    gradient_ascent,
    prediction_distance,
    train_path,
    unlearning_matrix,
)

__all__ = [
    "BOUND_KINDS",
    "STAGES",
    "BoundTerms",
    "Instance",
    "TheoryConfig",
    "bound_terms",
    "gradient_ascent",
    "make_instance",
    "parse_comparisons",
    "prediction_distance",
    "retrain_path",
    "run_experiment",
    "summarise",
    "train_path",
    "unlearning_matrix",
]
