"""Errors for bad experiment input; the CLI prints them as one line and exits 1."""


class ConfigError(ValueError):
    """Invalid experiment configuration or run parameters."""


class RunError(RuntimeError):
    """A run that stopped for a reason outside the configuration (a worker died)."""


class RunInterrupted(RunError):
    """SIGINT or SIGTERM stopped a run; what it saved so far stays (see ``interrupts``)."""

    def __init__(self, signal_name: str, run_id: str) -> None:
        self.signal_name = signal_name
        self.run_id = run_id
        super().__init__(
            f"run {run_id} interrupted by {signal_name}: the versions it saved so far are "
            "kept and recorded in data/09_runs/run_index.jsonl; rerun the same command to "
            "finish (finished trainings come from the training cache)"
        )


QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error line, cut to about ``limit`` characters."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"
