"""report: Table 1, Figures 1 and 3, the divergence figure, verdicts and the report document."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
