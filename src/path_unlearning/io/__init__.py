"""Kedro datasets the ecosystem lacks: save_pretrained folders, atomic table saves."""

from path_unlearning.io.atomic_tables import AtomicCSVDataset, AtomicParquetDataset
from path_unlearning.io.pretrained_folder import PretrainedFolderDataset

__all__ = ["AtomicCSVDataset", "AtomicParquetDataset", "PretrainedFolderDataset"]
