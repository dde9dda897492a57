"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/"""

from path_unlearning.hooks import LineageHook, PreflightHook, RunIndexHook, TorchSettingsHook
from path_unlearning.kedro_adapter import RunConfigurationHook

# RunConfigurationHook first: the pipelines are built from what it hands over.
# RunIndexHook records every run in data/09_runs/run_index.jsonl.
HOOKS = (
    RunConfigurationHook(),
    PreflightHook(),
    TorchSettingsHook(),
    LineageHook(),
    RunIndexHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (full, paper, ...) override only the keys they set.
    "merge_strategy": {"parameters": "soft"},
}
