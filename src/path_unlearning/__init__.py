"""path_unlearning: path-dependent machine unlearning as a Kedro project."""

__version__ = "0.1.0"
