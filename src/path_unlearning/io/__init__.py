"""Kedro datasets the ecosystem lacks."""

from path_unlearning.io.pretrained_folder import PretrainedFolderDataset

__all__ = ["PretrainedFolderDataset"]
