"""The configuration's sections: one frozen dataclass per TOML table, each field with its
default, its check and a description of what is allowed (``config.py`` builds them from a file
and reports every problem at once).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from .avatar.looks import LOOKS, is_colour
from .compliance import PROFILES
from .registry import Check, is_bool, is_int_in, is_nonempty, is_num_in, is_str, is_url

FRAMINGS = ("full", "compact")  # avatar/figure.py draws them


LANGUAGES = ("en", "de", "it", "zh")


def _spec(default: Any, check: Check, allowed: str, path: bool = False) -> Any:
    return field(default=default, metadata={"check": check, "allowed": allowed, "path": path})


_int_in, _num_in, _str, _nonempty = is_int_in, is_num_in, is_str, is_nonempty


def _zero_or(check: Check) -> Check:
    """0 (a number: ``false`` is not 0 here) or what ``check`` accepts."""
    return lambda v: (type(v) in (int, float) and v == 0) or check(v)


# Fields _build fills itself (never read from the file under their own name).
_FILLED = {"check": lambda v: isinstance(v, dict), "allowed": "a table", "path": False}


def _rtmp_list(v: Any) -> bool:
    return isinstance(v, list) and all(is_url("rtmp", "rtmps")(u) for u in v)


def _origins(v: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(o, str) and re.fullmatch(r"https?://[^/\s?#@]+", o) for o in v
    )


def _networks(v: Any) -> bool:
    try:
        return isinstance(v, list) and all(
            isinstance(n, str) and ipaddress.ip_network(n, strict=False) for n in v
        )
    except (TypeError, ValueError):
        return False


def _providers(v: Any) -> bool:
    known = {"TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"}
    return isinstance(v, list) and len(v) > 0 and all(p in known for p in v)


@dataclass(frozen=True)
class StreamConfig:
    name: str = _spec(
        "default",
        lambda v: _nonempty(v) and v.replace("-", "").replace("_", "").isalnum(),
        "a name of letters, digits, - and _",
    )
    width: int = _spec(
        720, lambda v: _int_in(64, 3840)(v) and v % 16 == 0, "an integer 64..3840, multiple of 16"
    )
    height: int = _spec(
        1280, lambda v: _int_in(64, 3840)(v) and v % 16 == 0, "an integer 64..3840, multiple of 16"
    )
    fps: int = _spec(25, lambda v: v in (20, 24, 25, 30, 50, 60), "one of 20, 24, 25, 30, 50, 60")
    sample_rate: int = _spec(
        48000, lambda v: v in (16000, 24000, 44100, 48000), "one of 16000, 24000, 44100, 48000"
    )
    # Frames rendered this many periods before they are sent: slack for N streams sharing few
    # cores, paid for in latency (40 ms a frame at 25 fps; RTMP viewers wait seconds anyway).
    render_ahead: int = _spec(0, _int_in(0, 3), "an integer 0..3 (frames)")
    language: str = _spec("en", lambda v: v in LANGUAGES, "one of " + ", ".join(LANGUAGES))
    # Bench mode: draw the playing utterance's trace id as a block code (avatar/tag.py).
    bench_tag: bool = _spec(False, lambda v: isinstance(v, bool), "true or false")
    budget: str = _spec(
        "", _str, "a latency budget TOML path, or empty for configs/budget.toml", path=True
    )
    title: str = _spec("", _str, "the studio title (empty = the catalog's shop name)")
    # Which platform's or law's rules `check` holds the stream to (streamhost/compliance.py).
    compliance: str = _spec("generic", lambda v: v in PROFILES, "one of " + ", ".join(PROFILES))


@dataclass(frozen=True)
class TalkConfig:
    catalog: str = _spec(
        "../assets/catalog/demo.json",
        _nonempty,
        "a path to a catalog file (.json or .csv)",
        path=True,
    )
    generator: str = _spec(
        "template", lambda v: v in ("template", "llm"), "one of template, llm ([llm] section)"
    )
    show: str = _spec(
        "", _str, "a run-of-show TOML path, or empty for plain catalog rotation", path=True
    )
    repeat_window: int = _spec(20, _int_in(0, 10000), "an integer 0..10000 (sentences)")
    seed: int = _spec(0, _int_in(0, 2**31 - 1), "an integer >= 0")
    lead_s: float = _spec(0.4, _num_in(0.05, 5.0), "a number of seconds 0.05..5")
    sentence_gap_s: float = _spec(0.18, _num_in(0.0, 3.0), "a number of seconds 0..3")
    phrase_chars: int = _spec(40, _zero_or(_int_in(20, 500)), "0 (off) or an integer 20..500")
    segment_pause_s: float = _spec(1.5, _num_in(0.0, 60.0), "a number of seconds 0..60")
    # Dead air has a bound: quiet this long with nothing fresh to say, the host recaps what was
    # not heard within refrain_s (talk/variety.py). 0 = wait for fresh talk, however long.
    max_quiet_s: float = _spec(20.0, _zero_or(_num_in(2.0, 600.0)), "0 (off) or seconds 2..600")
    refrain_s: float = _spec(120.0, _num_in(30.0, 600.0), "a number of seconds 30..600")
    max_question_age_s: float = _spec(20.0, _num_in(0.5, 3600.0), "a number of seconds 0.5..3600")
    max_chat_chars: int = _spec(500, _int_in(1, 10000), "an integer 1..10000")
    # Languages a viewer is answered in (their own when listed); empty = every language with
    # templates (assets/talk/*.toml).
    answer_languages: tuple = _spec(
        (), lambda v: isinstance(v, list | tuple) and all(x in LANGUAGES for x in v),
        "a list of languages from " + ", ".join(LANGUAGES),
    )  # fmt: skip
    followup_timeout_s: float = _spec(
        120.0, _num_in(5.0, 86400.0), "a number of seconds 5..86400 (operator answer window)"
    )


@dataclass(frozen=True)
class LlmConfig:
    base_url: str = _spec(
        "http://127.0.0.1:8000",
        lambda v: isinstance(v, str) and is_url("http", "https")(v),
        "an http(s) URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)",
    )
    model: str = _spec("default", _nonempty, "a model name")
    api_key: str = _spec("", _str, "a string (STREAMHOST_LLM_API_KEY overrides)")
    temperature: float = _spec(0.7, _num_in(0.0, 2.0), "a number 0..2")
    max_tokens: int = _spec(160, _int_in(1, 4096), "an integer 1..4096")
    connect_timeout_s: float = _spec(2.0, _num_in(0.1, 60.0), "a number of seconds 0.1..60")
    first_token_timeout_s: float = _spec(2.5, _num_in(0.1, 60.0), "a number of seconds 0.1..60")
    total_timeout_s: float = _spec(15.0, _num_in(0.5, 300.0), "a number of seconds 0.5..300")


@dataclass(frozen=True)
class VoiceConfig:
    """``[voice]``: the main language's engine, per-engine settings (flat keys in ``[voice]``
    for the main engine, ``[voice.<engine>]`` tables for any engine: they also configure
    that engine wherever it speaks, e.g. ``[voice.espeak]`` for the fallback), ``[voice.<lang>]``
    tables naming another language's voice, the speech cache and stage settings. Every engine
    table is checked by its row in voice/registry.py."""

    engine: str = _spec("hibari", is_nonempty, "a voice engine (see voice/registry.py)")
    # Checked for existence after paths are resolved (see _build).
    asr_model: str = _spec(
        "",
        _str,
        "a faster-whisper model folder, or empty (takeover lines untranscribed)",
        path=True,
    )
    mouth_lookahead_ms: int = _spec(80, _int_in(0, 200), "an integer 0..200 (milliseconds)")
    cache_mb: int = _spec(512, _int_in(0, 4096), "an integer 0..4096 (MB of speech; 0 = no cache)")
    cache_disk_mb: int = _spec(
        0, _int_in(0, 65536), "an integer 0..65536 (MB on disk in the data directory; 0 = off)"
    )
    prefetch: bool = _spec(True, is_bool, "true or false")
    # Filled by _build from the rest of [voice]: engine -> its checked parameters, and one
    # checked table per [voice.<lang>].
    params: dict = field(default_factory=dict, metadata=_FILLED)
    langs: dict = field(default_factory=dict, metadata=_FILLED)
    # Filled by _build from [avatar]: engine -> settings that fit the host where the file names
    # none (espeak-ng's variant follows the look's voice); never written back by with_overrides.
    host: dict = field(default_factory=dict, metadata=_FILLED)

    def engine_table(self, engine: str) -> dict[str, Any]:
        """``engine`` with the settings configured for it (none: the host's, then the engine's
        defaults)."""
        return {"engine": engine, **self.host.get(engine, {}), **self.params.get(engine, {})}

    def table(self, lang: str | None = None) -> dict[str, Any]:
        """The checked engine table for ``lang`` (None or no own table: the main voice)."""
        if lang is not None and lang in self.langs:
            own = self.langs[lang]
            return {**self.host.get(own.get("engine", ""), {}), **own}
        return self.engine_table(self.engine)


@dataclass(frozen=True)
class AvatarConfig:
    pack: str = _spec(
        "../assets/avatar/default", _nonempty, "a path to an avatar pack folder", path=True
    )
    providers: list = _spec(
        ("CPUExecutionProvider",),
        _providers,
        "a non-empty list of TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider",
    )
    threads: int = _spec(
        0, _int_in(0, 64), "an integer 0..64 (0 = the cores left free by the encoders)"
    )
    batch_max: int = _spec(
        1, _int_in(1, 256), "an integer 1..256 (frames of streams sharing a model per inference)"
    )
    batch_wait_ms: float = _spec(4.0, _num_in(0, 20), "a number of milliseconds 0..20")
    label: str = _spec(
        "AI-generated", _str, "the disclosure label drawn on every frame (empty = none)"
    )
    label_corner: str = _spec(
        "top-right",
        lambda v: v in ("top-left", "top-right", "bottom-left", "bottom-right"),
        "one of top-left, top-right, bottom-left, bottom-right",
    )
    # The default host (puppet packs): built-in look, colour overrides and how much of the
    # canvas the figure covers.
    look: str = _spec("ava", lambda v: v in LOOKS, "one of " + ", ".join(LOOKS))
    framing: str = _spec(
        "full", lambda v: v in FRAMINGS, "one of full (close shot), compact (a smaller figure)"
    )
    skin: str = _spec("", is_colour, '"#rrggbb", or empty for the look\'s own')
    hair: str = _spec("", is_colour, '"#rrggbb", or empty for the look\'s own')
    outfit: str = _spec("", is_colour, '"#rrggbb", or empty for the look\'s own')
    # The studio wall behind the host (a shop's brand colour); a pale one hides darker skin
    # from stock face detectors (README "Default host").
    wall: str = _spec("", is_colour, '"#rrggbb", or empty for the default deep teal')


@dataclass(frozen=True)
class OutputConfig:
    video_bitrate_kbps: int = _spec(2500, _int_in(100, 50000), "an integer 100..50000")
    audio_bitrate_kbps: int = _spec(128, _int_in(32, 512), "an integer 32..512")
    # H.264 on the CPU (x264) or on an NVIDIA GPU's NVENC unit where it opens (x264 otherwise).
    video_encoder: str = _spec("x264", lambda v: v in ("x264", "nvenc"), "x264 or nvenc")
    rtmp: list = _spec((), _rtmp_list, "a list of rtmp:// or rtmps:// URLs")
    record: str = _spec("", _str, "an MP4 path, or empty for no recording", path=True)
    # Fragmented: a crash loses seconds, not the night, and the muxer keeps no growing index
    # in memory (a plain MP4's grew RSS by ~12 MB an hour in benchmarks/soak.py).
    record_fragmented: bool = _spec(True, lambda v: isinstance(v, bool), "true or false")
    webrtc: bool = _spec(True, lambda v: isinstance(v, bool), "true or false")
    # A new recording file every this many seconds of media; each closed one can be signed
    # (a C2PA sign copies the whole file, so segments stay small).
    record_segment_s: int = _spec(
        900, _zero_or(_int_in(10, 86400)), "0 (one file) or seconds 10..86400"
    )
    # More outputs of any registered type, validated in output/registry.py.
    sinks: list = _spec((), lambda v: isinstance(v, list), "a list of tables ([[output.sinks]])")


@dataclass(frozen=True)
class ProvenanceConfig:
    """``[provenance]``: C2PA signing of recording segments and the implicit AIGC label."""

    enabled: bool = _spec(False, is_bool, "true or false (sign recording segments)")
    cert_chain: str = _spec("", _str, "a PEM file: signing certificate, then its CA(s)", path=True)
    key: str = _spec("", _str, "a PEM file: the signing certificate's EC P-256 key", path=True)
    tsa_url: str = _spec(
        "", lambda v: v == "" or is_url("http", "https")(v), "an http(s) URL, or empty"
    )
    producer: str = _spec("streamhost", _nonempty, "the content producer named in the AIGC label")


@dataclass(frozen=True)
class HttpConfig:
    host: str = _spec("127.0.0.1", _nonempty, "an interface address such as 127.0.0.1")
    port: int = _spec(8080, _int_in(0, 65535), "a port 0..65535 (0 = any free port)")
    # Reverse proxies whose X-Forwarded-For names the client the per-address limits count.
    trusted_proxies: list = _spec(
        (), _networks, 'a list of addresses or CIDR ranges, e.g. ["127.0.0.1", "10.0.0.0/8"]'
    )


@dataclass(frozen=True)
class ControlConfig:
    token: str = _spec("", _str, "a string (empty = generate one at start)")
    # A real person in charge (streamhost/presence.py): with no operator check-in for this
    # long the host goes to safe mode. -1 takes the compliance profile's value.
    presence_timeout_s: float = _spec(
        -1.0, lambda v: is_num_in(-1.0, 86400.0)(v) and (v in (-1, 0) or v >= 5),
        "-1 (the compliance profile's: 300 s for douyin and tiktok, off otherwise), 0 (off) "
        "or seconds 5..86400",
    )  # fmt: skip
    safe_mode: str = _spec(
        "facts", lambda v: v in ("facts", "break"),
        'one of "facts" (only scripts and catalog facts, no answers), "break" (a break card)',
    )  # fmt: skip
    # Sites besides the engine's own whose pages may use /control, /takeover, /chat, /offer.
    allowed_origins: list = _spec(
        (), _origins, 'a list of origins such as "https://shop.example" (scheme://host[:port])'
    )


@dataclass(frozen=True)
class ChatConfig:
    ws_token: str = _spec("", _str, "a string (empty = /chat ingest needs no token)")
    blocklists: str = _spec(
        "../assets/moderation", _nonempty, "a folder of <lang>.txt blocklists", path=True
    )
    max_queue: int = _spec(256, _int_in(1, 100000), "an integer 1..100000")
    per_user_burst: int = _spec(3, _int_in(1, 1000), "an integer 1..1000")
    per_user_window_s: float = _spec(10.0, _num_in(0.1, 3600.0), "a number of seconds 0.1..3600")
    dedupe_window_s: float = _spec(30.0, _num_in(0.0, 3600.0), "a number of seconds 0..3600")
    # Validated per source type in chat/registry.py (the list holds tables).
    sources: list = _spec((), lambda v: isinstance(v, list), "a list of tables ([[chat.sources]])")


@dataclass(frozen=True)
class StoreConfig:
    data_dir: str = _spec("../data", _nonempty, "a folder path", path=True)


SECTIONS: dict[str, type] = {
    "stream": StreamConfig,
    "talk": TalkConfig,
    "llm": LlmConfig,
    "voice": VoiceConfig,
    "avatar": AvatarConfig,
    "output": OutputConfig,
    "provenance": ProvenanceConfig,
    "http": HttpConfig,
    "control": ControlConfig,
    "chat": ChatConfig,
    "store": StoreConfig,
}
