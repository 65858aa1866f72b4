"""The ``<segment>.unsigned.json`` mark beside a recording segment that is not (yet) signed:
written when the segment opens, removed once its C2PA manifest is in place, read by
``provenance verify`` to say why a file carries none."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["SIDECAR_SUFFIX", "read_sidecar", "sidecar_path", "write_sidecar"]

SIDECAR_SUFFIX = ".unsigned.json"


def sidecar_path(segment: Path) -> Path:
    return segment.with_name(segment.name + SIDECAR_SUFFIX)


def write_sidecar(segment: Path, state: str, reason: str, **info: Any) -> None:
    """Mark ``segment`` unsigned (``state``: recording, signing, unsigned) with the reason."""
    data = {"segment": segment.name, "state": state, "reason": reason, **info}
    tmp = sidecar_path(segment).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, sidecar_path(segment))


def read_sidecar(segment: Path) -> dict[str, Any] | None:
    try:
        return json.loads(sidecar_path(segment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
