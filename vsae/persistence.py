"""Model folders: ``config.json`` (format version, schema, preprocessing, settings) plus
``model.safetensors`` (weights). No pickle anywhere, so loading a file cannot execute code.

Writes are atomic: the folder is assembled under a temporary name beside the target and renamed into
place, so an interrupted save never leaves half a model behind. Replacing an existing folder takes two
renames (old folder aside, new one in); a failed second rename puts the old folder back.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
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


def check_target_folder(path: str | os.PathLike[str], action: str) -> Path:
    """``path`` as a folder that can be written: no file of that name, its parent an existing folder
    (nothing is created along the way). ``action`` starts the error, e.g. "save a model to"."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise VSAEError(f"cannot {action} {str(target)!r}: a file of that name exists")
    if not target.parent.is_dir():
        raise VSAEError(f"cannot {action} {str(target)!r}: folder {str(target.parent)!r} does not exist")
    return target


def save_folder(path: str | os.PathLike[str], config: dict[str, Any], state: dict[str, torch.Tensor]) -> Path:
    """Write ``config`` and the weights ``state`` to the folder ``path`` (replaced if it exists)."""
    target = check_target_folder(path, "save a model to")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **config}
    # Fresh names beside the target (same file system, so the renames are atomic); the folder is made
    # with the usual permissions, where tempfile.mkdtemp's would make the model private to its owner.
    token = secrets.token_hex(6)
    staging = target.with_name(f".{target.name}.{token}.tmp")
    staging.mkdir()
    try:
        config_file, weights_file = staging / CONFIG_FILE, staging / WEIGHTS_FILE
        config_file.write_text(json.dumps(document, indent=1, allow_nan=True))
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(weights_file))
        os.chmod(weights_file, config_file.stat().st_mode)  # save_file creates it private (0600)
        if target.exists():
            retired = target.with_name(f".{target.name}.{token}.old")
            os.replace(target, retired)
            try:
                os.replace(staging, target)
            except BaseException:
                if not target.exists():
                    os.replace(retired, target)  # the previous model goes back in place
                raise
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
    for name, tensor in state.items():
        # Training stops on a non-finite loss, so a NaN or infinite weight means a damaged file.
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise VSAEError(f"{str(weights_path)!r} is damaged: tensor {name!r} holds NaN or infinite values")
    return config, state


def restore_state(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load weights, turning shape or key mismatches into one clear error."""
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        # torch's message is a title line ("Error(s) in loading state_dict…") and then one line per
        # mismatch; the first mismatch is the informative part.
        lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise VSAEError(f"the weights in {source!r} do not match its config.json: {detail}") from error
