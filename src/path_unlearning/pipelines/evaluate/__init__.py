"""Scores before and after unlearning, distances to the retrain reference and between paths."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
