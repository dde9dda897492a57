"""Errors for bad experiment input; the CLI prints them as one line and exits 1."""


class ConfigError(ValueError):
    """Invalid experiment configuration or run parameters."""
