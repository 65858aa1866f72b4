"""Face families an avatar pack can name in ``pack.toml`` (``family = "..."``).

One row per family: how its manifest is read (``loader``: the family's keys -> ``Pack``),
which mouth drivers it takes, how its face is built for a stream (``builder``) and what
``streamhost check`` opens to test it (``checker``). Adding a family is one module plus one
row; targets are imported only when used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .base import Face, FaceContext

Pack = Any  # avatar/pack.py imports this table; naming its class here would be a cycle


@dataclass(frozen=True, slots=True)
class FaceFamily:
    loader: str  # "module:function"(root, manifest, data, problems, driver, check_model) -> Pack
    builder: str  # "module:function"(pack, ctx: FaceContext) -> Face
    drivers: tuple[str, ...]  # the first is the default
    checker: str = ""  # "module:function"(pack) -> None, raising on a broken model
    doc: str = ""


FAMILIES: dict[str, FaceFamily] = {
    "puppet": FaceFamily(
        "streamhost.avatar.pack:load_puppet_manifest",
        "streamhost.avatar.puppet_face:build_puppet",
        ("phonemes", "audio"),
        "streamhost.avatar.puppet_face:check_puppet",
        "the project's parametric drawn host: params (B, N) -> RGBA head tile",
    ),
    "wav2lip": FaceFamily(
        "streamhost.avatar.pack:load_wav2lip_manifest",
        "streamhost.avatar.wav2lip_face:build_wav2lip",
        ("audio",),
        "",  # its loader already opens the model (check_model)
        "a presenter's video or photo whose mouth a Wav2Lip-contract model redraws",
    ),
    "photo": FaceFamily(
        "streamhost.avatar.photo_face:load_photo_manifest",
        "streamhost.avatar.photo_face:build_photo",
        ("phonemes", "audio"),
        "streamhost.avatar.photo_face:check_photo",
        "one portrait animated by a landmark mesh warp with a drawn mouth interior",
    ),
    "clip": FaceFamily(
        "streamhost.avatar.clip_face:load_clip_manifest",
        "streamhost.avatar.clip_face:build_clip",
        ("phonemes", "audio"),
        "streamhost.avatar.clip_face:check_clip",
        "a presenter's video: idle loop + sampled lower faces per viseme, cross-faded",
    ),
}


def _target(spec: str) -> Any:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def family_of(name: str) -> FaceFamily:
    return FAMILIES[name]


def build_face(pack: Pack, ctx: FaceContext) -> Face:
    """The face for a pack, with whatever renderer or mouth source its family needs."""
    face: Face = _target(FAMILIES[pack.family].builder)(pack, ctx)
    return face


def check_face(pack: Pack) -> None:
    """Open what a pack's family needs at run time (``streamhost check``); raises on failure."""
    spec = FAMILIES[pack.family].checker
    if spec:
        _target(spec)(pack)


def load_family(family: str, *args: Any) -> Pack:
    pack: Pack = _target(FAMILIES[family].loader)(*args)
    return pack
