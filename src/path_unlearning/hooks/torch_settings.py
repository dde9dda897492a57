"""Torch process settings, applied once per run rather than in every node."""

from __future__ import annotations

from typing import Any

import torch
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

from path_unlearning.modeling.model import configure_torch_for_cpu


class TorchSettingsHook:
    """Torch process settings, applied once per run rather than in every node."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Flush denormals; set the thread count from ``torch_threads``."""
        configure_torch_for_cpu()
        threads = (
            catalog.load("params:torch_threads") if "params:torch_threads" in catalog else None
        )
        if threads:
            torch.set_num_threads(int(threads))
