"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/"""

from path_unlearning.hooks import ExperimentPlanHook, LineageHook

HOOKS = (ExperimentPlanHook(), LineageHook())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
