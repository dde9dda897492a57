"""Fine-tuning through the stages of every path, one node per trie prefix."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
