"""A versioned Kedro dataset for ``save_pretrained`` folders (models, tokenizers, adapters)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version
from kedro.utils import load_obj
from safetensors import SafetensorError
from transformers import PreTrainedModel

from path_unlearning.io.atomic import atomic_write, unreadable

# Model classes are asked for safetensors weights; a folder with only a pickled
# checkpoint then fails to load instead of executing the pickle.
_SAFE_DEFAULTS = {"use_safetensors": True}


class PretrainedFolderDataset(AbstractVersionedDataset[Any, Any]):
    """Saves any object with ``save_pretrained(dir)``; loads it with ``load_class.from_pretrained``.

    Example catalog entry::

        "{prefix}.adapter":
          type: path_unlearning.io.PretrainedFolderDataset
          filepath: data/06_models/adapters/{prefix}
          load_class: path_unlearning.modeling.lora.AdapterCheckpoint
          versioned: true

    With versioning, each save is a new folder ``<filepath>/<version>/<name>``;
    the latest is loaded by default and ``--load-versions`` picks another.
    Saves go to a temporary folder beside the target and are renamed into
    place, so an interrupted save never looks like a finished version.
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_class: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._load_class_path = load_class
        self._load_class = load_obj(load_class)
        model_like = self._load_class.__name__.startswith("AutoModel") or (
            isinstance(self._load_class, type) and issubclass(self._load_class, PreTrainedModel)
        )
        self._load_args = {**(_SAFE_DEFAULTS if model_like else {}), **(load_args or {})}
        self._save_args = save_args or {}
        self.metadata = metadata

    @property
    def filepath(self) -> str:
        """The configured path (without the version folders)."""
        return str(self._filepath)

    def load(self) -> Any:
        path = Path(self._get_load_path().as_posix())
        if not path.is_dir():
            raise DatasetError(f"no saved folder at {path}")
        try:
            return self._load_class.from_pretrained(str(path), **self._load_args)
        except (OSError, ValueError, RuntimeError, SafetensorError) as err:  # truncated, bad JSON
            raise DatasetError(unreadable(path, err)) from None

    def save(self, data: Any) -> None:
        target = Path(self._get_save_path().as_posix())
        atomic_write(
            target, lambda tmp: data.save_pretrained(str(tmp), **self._save_args), folder=True
        )

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return Path(path.as_posix()).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "load_class": self._load_class_path,
            "version": self._version,
        }
