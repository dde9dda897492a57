"""path_unlearning: path-dependent machine unlearning as a Kedro project."""

import warnings

from path_unlearning.versions import VERSION_PATTERN

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
# - peft notes that an adapter's `base_model_name_or_path` differs from the model it
#   is attached to. An adapter from the training cache names the base model's version
#   folder of the run that trained it; a later run loads the same base model (same
#   fingerprint, or the cache would have missed) from its own version folder. Only a
#   rename between two versions of one versioned dataset is ignored: any other
#   mismatch (another model) still shows.
warnings.filterwarnings(
    "ignore",
    message=(
        r"The PEFT config's `base_model_name_or_path` was renamed from "
        rf"'(?P<folder>.+)/{VERSION_PATTERN}/(?P<name>[^/']+)' "
        rf"to '(?P=folder)/{VERSION_PATTERN}/(?P=name)'"
    ),
    category=UserWarning,
    module="peft.mapping_func",
)
