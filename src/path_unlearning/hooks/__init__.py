"""Project hooks, one module per concern.

* ``torch_settings``: torch process settings, once per run;
* ``preflight``: checks before any compute, and the clean-up of killed saves;
* ``same_run``: the outputs of one node a run loads come from one run;
* ``run_index``: one record per run in ``data/09_runs/run_index.jsonl``;
* ``lineage``: the versions of the report's inputs, handed to the report node.

``settings.py`` registers the hook classes re-exported here.
"""

from path_unlearning.hooks.lineage import LineageHook
from path_unlearning.hooks.preflight import PreflightHook
from path_unlearning.hooks.run_index import RunIndexHook
from path_unlearning.hooks.torch_settings import TorchSettingsHook
from path_unlearning.run_index import LINEAGE_INPUT

__all__ = ["LINEAGE_INPUT", "LineageHook", "PreflightHook", "RunIndexHook", "TorchSettingsHook"]
