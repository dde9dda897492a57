"""path_unlearning: path-dependent machine unlearning as a Kedro project."""

import warnings

__version__ = "0.1.0"

# Known-harmless deprecation notices from dependencies, filtered by exact message
# and module so that anything new still shows:
# - Kedro 1.7's config loader calls OmegaConf.register_new_resolver, deprecated in
#   omegaconf 2.4 (twice per loader: the run prints it for every configuration read);
# - peft asks transformers 5 for `is_gradient_checkpointing` on every adapter it attaches.
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module="kedro.config.omegaconf_config",
)
warnings.filterwarnings(
    "ignore",
    message="`is_gradient_checkpointing` is deprecated",
    category=FutureWarning,
)
