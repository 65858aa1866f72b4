"""Compliance profiles: the rules a platform or a law sets for an AI host, as data and checks.

``stream.compliance`` names a profile. In: a ``Config``. Out: the profile's values for the
stages that enforce them (``profile(cfg)``: label text and corners, the spoken-disclosure
interval and languages, the largest screen share of an animated figure, the operator presence
timeout) and ``compliance_problems(cfg)``, one line per rule the config would break, naming the
key, the rule and where the rule comes from. README "Compliance profiles" lists the sources.

This module reads raw dicts and config objects only (config.py imports it), never talk/.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENERIC_LABEL = "AI-generated"
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")

# Where each rule comes from (README "Compliance profiles" has the links).
SRC_GB = "GB 45438-2025 / CAC AI content labelling measures (in force 2025-09-01)"
SRC_LIVE = "China live-commerce supervision measures (in force 2026-02-01): continuous reminder"
SRC_DOUYIN = "Douyin virtual-host platform convention (2023): registered, real person, labelled"
SRC_DEEP = "China deep synthesis provisions (2023) art. 14: separate consent of the person shown"
SRC_TIKTOK = "TikTok LIVE rules: no AI-generated voices; animated figures <= 50% of the screen"
SRC_AIACT = "EU AI Act art. 50(2), 50(5): machine-readable marking; disclosure at first exposure"
SRC_PROJECT = "project default"


@dataclass(frozen=True)
class Profile:
    """One profile's rules. None means the profile sets no limit for that rule."""

    name: str
    label: str  # the visible label it puts on every frame (replaces the generic one)
    label_token: str  # text the label must contain
    corners: tuple[str, ...]  # where the label may sit
    disclosure_every_min: float  # spoken "I am an AI" at most this far apart
    disclosure_at_start: bool
    disclosure_langs: tuple[str, ...] = ()  # spoken in these too, besides the stream's language
    # A stream that cannot speak the disclosure in one of its languages is refused.
    disclosure_required: bool = True
    max_figure_share: float | None = None  # of the canvas an animated figure may cover
    presence_timeout_s: float | None = None  # an operator must check in at least this often
    producer_named: bool = False  # provenance.producer must name the provider
    signed_recordings: bool = False  # recordings must carry a C2PA manifest
    synthetic_voice_banned: bool = False
    consent_scope: bool = False  # a real person's consent must state its scope
    sources: dict[str, str] = field(default_factory=dict)


_TOP = ("top-left", "top-right")  # phone players cover the bottom with chat and buttons
PROFILES: dict[str, Profile] = {
    "generic": Profile("generic", GENERIC_LABEL, "AI", CORNERS, 15, True,
                       disclosure_required=False, sources={"all": SRC_PROJECT}),
    "douyin": Profile(
        "douyin", "AI-generated (AIGC)", "AI", _TOP, 10, True, ("zh",),
        presence_timeout_s=300, producer_named=True, consent_scope=True,
        sources={"label": SRC_GB, "disclosure": SRC_LIVE, "presence": SRC_DOUYIN,
                 "producer": SRC_GB, "consent": SRC_DEEP},
    ),
    "tiktok": Profile(
        "tiktok", GENERIC_LABEL, "AI", _TOP, 15, True, max_figure_share=0.5,
        presence_timeout_s=300, synthetic_voice_banned=True,
        sources={"figure": SRC_TIKTOK, "voice": SRC_TIKTOK, "presence": SRC_TIKTOK},
    ),
    "eu": Profile(
        "eu", "AI-generated", "AI", CORNERS, 15, True, signed_recordings=True,
        sources={"label": SRC_AIACT, "disclosure": SRC_AIACT, "signing": SRC_AIACT},
    ),
}  # fmt: skip


def profile(cfg: Any) -> Profile:
    """The profile of a ``Config`` (or of a profile name)."""
    name = cfg if isinstance(cfg, str) else cfg.stream.compliance
    return PROFILES[name]


def disclosure_interval_s(cfg: Any) -> float:
    """Longest gap between spoken AI disclosures the stream's profile allows (talk/ reads it)."""
    return profile(cfg).disclosure_every_min * 60.0


def disclosure_languages(cfg: Any) -> tuple[str, ...]:
    """Languages the disclosure must be spoken in: the stream's, then the profile's own."""
    lang = cfg.stream.language
    return (lang, *[x for x in profile(cfg).disclosure_langs if x != lang])


def presence_timeout_s(cfg: Any) -> float | None:
    """How long the stream may run with no operator checked in (None: no presence rule)."""
    return profile(cfg).presence_timeout_s


def presence_limit_s(cfg: Any) -> float:
    """The timeout the stream runs with: ``control.presence_timeout_s``, or for -1 the
    profile's; 0 = no presence check."""
    own = getattr(cfg.control, "presence_timeout_s", -1)
    if own >= 0:
        return float(own)
    return float(presence_timeout_s(cfg) or 0.0)


def with_profile_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Raw config tables in; the same with the profile's label in place of the generic one."""
    stream = data.get("stream")
    name = stream.get("compliance") if isinstance(stream, dict) else None
    avatar = data.get("avatar", {})
    if name not in PROFILES or name == "generic" or not isinstance(avatar, dict):
        return data
    if avatar.get("label", GENERIC_LABEL) != GENERIC_LABEL:
        return data  # the operator's own wording; compliance_problems still checks it
    return {**data, "avatar": {**avatar, "label": PROFILES[name].label}}


def compliance_problems(cfg: Any, today: dt.date | None = None) -> list[str]:
    """Each rule of the stream's profile (and consent, for every profile) that ``cfg`` breaks."""
    p = profile(cfg)
    tag = f"stream.compliance = {p.name!r}"
    out: list[str] = []
    a = cfg.avatar
    if p.label_token not in a.label:
        out.append(f"avatar.label = {a.label!r}: {tag} needs a visible label containing "
                   f"{p.label_token!r} ({p.sources.get('label', SRC_PROJECT)})")  # fmt: skip
    out += _glyph_problems(a.label)
    if a.label_corner not in p.corners:
        out.append(f"avatar.label_corner = {a.label_corner!r}: {tag} allows "
                   f"{', '.join(p.corners)} (the player's chat and buttons cover the bottom)")  # fmt: skip
    out += _disclosure_problems(cfg, p, tag)
    pack = _pack(cfg)
    share = figure_share(cfg, pack)
    if p.max_figure_share is not None and share is not None and share > p.max_figure_share:
        out.append(f"avatar.framing = {getattr(a, 'framing', '?')!r}: the host covers "
                   f"{share:.0%} of the screen; {tag} allows {p.max_figure_share:.0%} "
                   f"({p.sources['figure']}); try framing = \"compact\"")  # fmt: skip
    limit = presence_limit_s(cfg)
    if p.presence_timeout_s is not None and not 0 < limit <= p.presence_timeout_s:
        out.append(f"control.presence_timeout_s = {limit!r}: {tag} needs an operator check-in "
                   f"at least every {p.presence_timeout_s:.0f} s ({p.sources['presence']})")  # fmt: skip
    if p.synthetic_voice_banned:
        out.append(f"voice.engine = {cfg.voice.engine!r}: {tag}: the host's voice is synthesized "
                   f"and {SRC_TIKTOK}; only an operator's own voice (takeover) complies")  # fmt: skip
    if p.producer_named and cfg.provenance.producer == "streamhost":
        out.append(f"provenance.producer = 'streamhost': {tag} needs the service provider's "
                   f"name or code in the AIGC label's ContentProducer ({SRC_GB})")  # fmt: skip
    if p.signed_recordings and cfg.output.record and not cfg.provenance.enabled:
        out.append(f"provenance.enabled = false: {tag} needs recordings marked machine-readably "
                   f"(C2PA) ({SRC_AIACT})")  # fmt: skip
    out += _signing_problems(cfg)
    out += consent_problems(cfg, pack, p, today or dt.date.today())
    return out


def _pack(cfg: Any) -> Any:
    from .avatar.pack import PackError, load_pack

    try:
        return load_pack(cfg.avatar.pack, check_model=False)
    except (PackError, OSError, ValueError):
        return None  # check_assets reports the pack itself


def consent_problems(cfg: Any, pack: Any, p: Profile, today: dt.date) -> list[str]:
    """An expired or revoked consent keeps the pack off air, under every profile."""
    consent = getattr(pack, "consent", None)
    if consent is None:
        return []
    where = f"avatar.pack = {cfg.avatar.pack!r}"
    out = []
    reason = consent.expired_or_revoked(today)
    if reason:
        out.append(f"{where}: {consent.person}'s consent {reason}: the pack cannot go on air "
                   "(renew the [consent] record in pack.toml, or use another pack)")  # fmt: skip
    if p.consent_scope and not consent.scope:
        out.append(f"{where}: [consent] scope is empty: stream.compliance = {p.name!r} needs the "
                   f"consent to say what it covers ({SRC_DEEP})")  # fmt: skip
    return out


def _disclosure_problems(cfg: Any, p: Profile, tag: str) -> list[str]:
    """Every disclosure language has a text (the language files'), and the run of show's
    [disclosure] table against the profile (talk/disclosure.py owns the speaking)."""
    out = _disclosure_text_problems(cfg, p, tag)
    if not cfg.talk.show:
        return out
    try:
        d = tomllib.loads(Path(cfg.talk.show).read_text(encoding="utf-8")).get("disclosure", {})
    except (OSError, ValueError):
        return []  # check_assets reports the show file itself
    if not isinstance(d, dict):
        return []
    src = p.sources.get("disclosure", SRC_PROJECT)
    where = f"talk.show = {cfg.talk.show!r}: [disclosure]"
    if d.get("enabled", True) is False:
        return [*out, f"{where} enabled = false: {tag} needs the host to say it is an AI ({src})"]
    every = d.get("every_minutes", 15)
    if isinstance(every, int | float) and every > p.disclosure_every_min:
        out.append(f"{where} every_minutes = {every}: {tag} needs it at least every "
                   f"{p.disclosure_every_min:g} minutes ({src})")  # fmt: skip
    if p.disclosure_at_start and d.get("at_start", True) is False:
        out.append(f"{where} at_start = false: {tag} needs it at the start ({src})")
    return out


def _disclosure_text_problems(cfg: Any, p: Profile, tag: str) -> list[str]:
    """A language the host must disclose in but has no text for (a show's own text counts)."""
    if not p.disclosure_required:
        return []
    from .langdata import DEFAULT_FOLDER, disclosure_texts

    have = set(disclosure_texts())
    own = _show_disclosure_langs(cfg)
    src = p.sources.get("disclosure", SRC_PROJECT)
    return [f"stream.language / {tag}: the host cannot say it is an AI in {lg!r}: add "
            f"[host] disclosure to {DEFAULT_FOLDER / (lg + '.toml')} ({src})"
            for lg in disclosure_languages(cfg) if lg not in have and lg not in own]  # fmt: skip


def _show_disclosure_langs(cfg: Any) -> set[str]:
    if not cfg.talk.show:
        return set()
    try:
        d = tomllib.loads(Path(cfg.talk.show).read_text(encoding="utf-8")).get("disclosure", {})
    except (OSError, ValueError):
        return set()
    text = d.get("text") if isinstance(d, dict) else None
    return {k for k, v in text.items() if isinstance(v, str) and v.strip()} \
        if isinstance(text, dict) and d.get("enabled", True) is not False else set()  # fmt: skip


def _signing_problems(cfg: Any) -> list[str]:
    pv = cfg.provenance
    if not pv.enabled:
        return []
    from .output.provenance import ProvenanceError, SegmentSigner

    if not cfg.output.record:
        return ["provenance.enabled = true but output.record is empty: nothing to sign"]
    if not pv.cert_chain or not pv.key:
        return ["provenance.enabled = true: set provenance.cert_chain and provenance.key "
                "(`streamhost provenance init` makes a local test chain)"]  # fmt: skip
    try:
        SegmentSigner(pv.cert_chain, pv.key, pv.tsa_url)
    except ProvenanceError as e:
        return [str(e)]
    return []


def figure_share(cfg: Any, pack: Any) -> float | None:
    """Share of the canvas the animated host covers (upper bound): a whole-canvas pack 1.0; the
    default host its body plus its head tile; None when it cannot be measured."""
    if pack is None:
        return None
    if pack.whole_canvas:
        return 1.0
    w, h = cfg.stream.width, cfg.stream.height
    try:
        from .avatar.figure import studio_figure

        fig = studio_figure(pack, cfg.avatar, cfg.format)
    except (ImportError, ValueError, AttributeError):
        fig = None
    if fig is None:
        return pack.render_width * pack.render_height / (w * h)
    covered = fig.body[..., 3] > 0.5
    (x, y), (tw, th) = fig.tile_xy, fig.tile_size
    covered[max(0, y) : y + th, max(0, x) : x + tw] = True
    return float(covered.mean())


def _glyph_problems(label: str) -> list[str]:
    """Characters the compositor's font would draw as empty boxes."""
    try:
        from .avatar.compositor import _font

        font = _font(22)
        missing_mask = bytes(font.getmask("\ue000"))
        bad = sorted(
            {c for c in label if not c.isspace() and bytes(font.getmask(c)) == missing_mask}
        )
    except Exception:  # noqa: BLE001 - a font we cannot probe is not the config's problem
        return []
    if not bad:
        return []
    return [f"avatar.label = {label!r}: the frame's font has no glyphs for {''.join(bad)!r} "
            "(they would show as boxes)"]  # fmt: skip
