"""Errors for bad experiment input; the CLI prints them as one line and exits 1."""


class ConfigError(ValueError):
    """Invalid experiment configuration or run parameters."""


class RunError(RuntimeError):
    """A run that stopped for a reason outside the configuration (a worker died)."""
