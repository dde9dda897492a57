"""TOFU/open-unlearning benchmark metrics against each path's own retrain reference, and relearning."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
