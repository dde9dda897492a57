"""Unlearning of the forget stage from every path's model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
