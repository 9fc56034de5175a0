"""Model folders: ``config.json`` (format version, schema, preprocessing, settings) plus
``model.safetensors`` (weights). No pickle anywhere, so loading a file cannot execute code.

Writes are atomic: the folder is assembled under a temporary name beside the target and renamed into
place, so an interrupted save never leaves half a model behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vsae.errors import VSAEError

FORMAT = "vsae-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_folder(path: str | os.PathLike[str], config: dict[str, Any], state: dict[str, torch.Tensor]) -> Path:
    """Write ``config`` and the weights ``state`` to the folder ``path`` (replaced if it exists)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise VSAEError(f"cannot save a model to {str(target)!r}: a file of that name exists")
    if not target.parent.is_dir():
        raise VSAEError(
            f"cannot save a model to {str(target)!r}: folder {str(target.parent)!r} does not exist"
        )
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **config}
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (staging / CONFIG_FILE).write_text(json.dumps(document, indent=1, allow_nan=True))
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(staging / WEIGHTS_FILE))
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def load_folder(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a model folder written by :func:`save_folder`."""
    folder = Path(path)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for required in (config_path, weights_path):
        if not required.is_file():
            raise VSAEError(f"{str(folder)!r} is not a vsae model folder: {required.name} is missing")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VSAEError(f"{str(config_path)!r} is damaged: {error}") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise VSAEError(f"{str(config_path)!r} is not a vsae model description")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise VSAEError(
            f"{str(folder)!r} has model format version {version!r}; this vsae reads version {FORMAT_VERSION}"
        )
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise VSAEError(f"{str(weights_path)!r} is damaged: {error}") from error
    return config, state


def restore_state(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load weights, turning shape or key mismatches into one clear error."""
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise VSAEError(f"the weights in {source!r} do not match its config.json: {first}") from error
