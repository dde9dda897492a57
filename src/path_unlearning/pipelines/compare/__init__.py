"""compare: two runs side by side (Table 1, verdicts, parameters)."""

from path_unlearning.pipelines.compare.pipeline import create_pipeline

__all__ = ["create_pipeline"]
