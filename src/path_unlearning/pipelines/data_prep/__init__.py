"""Stage datasets, evaluation sets and the tokenizer."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
