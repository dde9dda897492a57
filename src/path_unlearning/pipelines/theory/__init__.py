"""theory: Section 3 simulation (staged ridge regression + GA unlearning)."""

from path_unlearning.pipelines.theory.pipeline import create_pipeline

__all__ = ["create_pipeline"]
