"""Superficial vs deep forgetting (Section 4.3): six orders of R, C, U, then GA on U."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
