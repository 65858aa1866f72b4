"""``streamhost avatar import-wav2lip``: an original Wav2Lip checkpoint -> the pack contract's ONNX.

A ``.pth`` in the original project's layout (``{"state_dict": ...}`` or a bare state dict; keys
may carry the ``module.`` prefix that ``DataParallel`` training leaves) is loaded into
``wav2lip_arch.Wav2Lip(size)`` and exported with inputs ``mel`` (B, 1, 80, 16), ``face``
(B, 6, S, S) and output ``out`` (B, 3, S, S). Needs torch (the dev extra); the engine only
runs the exported file. A wrong or truncated checkpoint is refused naming the keys.
"""

from __future__ import annotations

from pathlib import Path


class ImportError_(ValueError):  # noqa: N801 - "ImportError" is a builtin
    """The checkpoint cannot be imported; the message names the file and the keys."""


def _names(keys: list[str], limit: int = 6) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_state(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise ImportError_(f"checkpoint {path}: file not found")
    try:
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a broken file
        raise ImportError_(f"checkpoint {path}: cannot read as a torch checkpoint ({e})") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ImportError_(f"checkpoint {path}: no state_dict of named tensors inside")
    return {k.removeprefix("module."): v for k, v in state.items()}


def import_checkpoint(checkpoint: str | Path, size: int, out: str | Path) -> Path:
    """Load, check and export; returns the ONNX path."""
    import torch

    from .wav2lip_arch import SIZES, Wav2Lip

    if size not in SIZES:
        raise ImportError_(f"--size {size}: must be one of {SIZES}")
    path = Path(checkpoint)
    state = load_state(path)
    model = Wav2Lip(size).eval()
    want = model.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys ({_names(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({_names(unexpected)})")
        raise ImportError_(
            f"checkpoint {path}: not a Wav2Lip S={size} generator: " + "; ".join(parts)
            + " (a truncated file, the discriminator, or the other --size?)"
        )  # fmt: skip
    bad = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in want.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if bad:
        raise ImportError_(
            f"checkpoint {path}: {len(bad)} tensors have the wrong shape for S={size}: "
            f"{_names(bad, 4)}"
        )
    model.load_state_dict(state)
    dst = Path(out)
    dst.parent.mkdir(parents=True, exist_ok=True)
    batch = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, size, size)),
            str(dst),
            input_names=["mel", "face"],
            output_names=["out"],
            dynamic_axes={"mel": batch, "face": batch, "out": batch},
            opset_version=17,
            dynamo=False,
        )
    from .pack import check_wav2lip_model

    try:
        check_wav2lip_model(dst, size)
    except ValueError as e:
        raise ImportError_(str(e)) from None
    return dst
