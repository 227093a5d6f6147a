"""The node's model folders (upstream ``localmodelnode/file_utils.go``): one folder per
storage key (``sha256(sourceModelUri)[:16]``) below the models root, which the agent's
DaemonSet mounts from the node (``/models`` on the node, ``/mnt/models`` in the agent, so
the root is ``/mnt/models/models``: the download Jobs mount the PVC with subPath
``models/<storage key>``). The root is configurable (``--models-root``), so tests run the
agent on a temporary directory.

Every method is blocking file-system work: the agent calls them through
``anyio.to_thread.run_sync`` so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["FileSystemHelper"]


class FileSystemHelper:
    """Model folders below ``models_root``."""

    def __init__(self, models_root: str | os.PathLike[str]) -> None:
        self.models_root = Path(models_root)

    def model_folder(self, storage_key: str) -> Path:
        return self.models_root / storage_key

    def has_model_folder(self, storage_key: str) -> bool:
        """Whether the folder exists (a missing one is False; any other error, e.g. a
        permission problem, is raised, as upstream's ``os.ReadDir``)."""
        try:
            with os.scandir(self.model_folder(storage_key)):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False

    def remove_model(self, storage_key: str) -> None:
        """Remove the folder and everything below it (absent: nothing to do)."""
        path = self.model_folder(storage_key)
        if not path.exists() and not path.is_symlink():
            return
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

    def model_folders(self) -> list[str]:
        """Names of the folders below the root (the root missing: none)."""
        try:
            with os.scandir(self.models_root) as it:
                return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return []

    def ensure_model_root_folder_exists(self) -> None:
        """Create the root (and its parents) if missing; an error if it cannot be made."""
        self.models_root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.models_root, os.W_OK | os.X_OK):
            raise PermissionError(f"models root {self.models_root} is not writable")
