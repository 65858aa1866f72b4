"""Typed configuration loaded from TOML.

TOML file (or dict) in, a frozen `Config` out. Every problem is collected and reported at once
as ``ConfigError``; each line names the key, the bad value and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .avatar.looks import LOOKS
from .budget import budget_problems
from .chat.registry import source_problems
from .compliance import with_profile_defaults
from .config_sections import (  # noqa: F401 - re-exported: sections are part of the config API
    FRAMINGS,
    LANGUAGES,
    SECTIONS,
    AvatarConfig,
    ChatConfig,
    ControlConfig,
    HttpConfig,
    LlmConfig,
    OutputConfig,
    ProvenanceConfig,
    StoreConfig,
    StreamConfig,
    TalkConfig,
    VoiceConfig,
)
from .frames import StreamFormat, format_problems
from .output.registry import sink_problems
from .problems import ConfigError
from .registry import fmt
from .voice.espeak import HOST_VARIANT
from .voice.registry import VOICES

__all__ = ["Config", "ConfigError", "load_config", "config_from_dict"]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"


@dataclass(frozen=True)
class Config:
    stream: StreamConfig = field(default_factory=StreamConfig)
    talk: TalkConfig = field(default_factory=TalkConfig)
    llm: LlmConfig = field(default_factory=LlmConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    avatar: AvatarConfig = field(default_factory=AvatarConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    provenance: ProvenanceConfig = field(default_factory=ProvenanceConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    source: str = "defaults"

    @property
    def format(self) -> StreamFormat:
        """The stream's picture and sound, checked once (every stage takes this)."""
        s = self.stream
        return StreamFormat(s.width, s.height, s.fps, s.sample_rate)

    def with_overrides(self, **sections: dict[str, Any]) -> Config:
        """A copy with some keys replaced, e.g. ``with_overrides(output={"record": "x.mp4"})``.

        Values are validated like file values; paths here are taken as given (cwd-relative).
        """
        raw = {
            name: {f.name: getattr(getattr(self, name), f.name) for f in fields(cls)}
            for name, cls in SECTIONS.items()
        }
        v = raw["voice"]  # back to the file's shape: engine keys and [voice.<lang>] inline
        v.update({**v.pop("params"), **v.pop("langs")})
        del v["host"]  # follows the look again, which an override may change
        for name, values in sections.items():
            if name not in raw:
                raise ConfigError(
                    [f"[{name}]: unknown section; allowed: {', '.join(SECTIONS)}"], self.source
                )
            raw[name].update(values)
        return _build(raw, base=None, source=self.source)


_fmt = fmt


def _build(data: dict[str, Any], base: Path | None, source: str) -> Config:
    problems: list[str] = []
    built: dict[str, Any] = {}
    if not isinstance(data, dict):
        raise ConfigError(["top level: must be a table of sections"], source)
    data = with_profile_defaults(data)
    for name in data:
        if name not in SECTIONS:
            problems.append(f"[{name}]: unknown section; allowed: {', '.join(SECTIONS)}")
    for name, cls in SECTIONS.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            problems.append(f"[{name}] = {_fmt(values)}: must be a table")
            values = {}
        known = {f.name: f for f in fields(cls)}
        if name == "voice":
            values = _split_voice(values, base, problems)
        for key in values:
            if key not in known:
                problems.append(f"{name}.{key}: unknown key; allowed: {', '.join(known)}")
        kwargs: dict[str, Any] = {}
        for key, f in known.items():
            value = values.get(key, f.default)
            if isinstance(value, tuple):
                value = list(value)
            if not f.metadata["check"](value):
                problems.append(f"{name}.{key} = {_fmt(value)}: must be {f.metadata['allowed']}")
                continue
            # A default is relative to the embedded defaults' folder, not to the user's file.
            vbase = base if key in values else DEFAULT_CONFIG.resolve().parent
            if f.metadata["path"] and isinstance(value, str) and value and vbase is not None:
                value = str((vbase / value).resolve())
            if name == "chat" and key == "sources":
                more, value = source_problems(value, base)
                problems.extend(more)
            if name == "output" and key == "sinks":
                more, value = sink_problems(value, base)
                problems.extend(more)
            if name == "voice" and key == "asr_model" and value and not Path(value).is_dir():
                problems.append(f"voice.asr_model = {_fmt(value)}: the folder does not exist")
            if name == "stream" and key == "budget":
                problems.extend(budget_problems(value))
            kwargs[key] = value
        if not problems:
            built[name] = cls(**kwargs)
    if "stream" in built:
        st = built["stream"]
        problems.extend(format_problems(st.width, st.height, st.fps, st.sample_rate))
    if problems:
        raise ConfigError(problems, source)
    look = LOOKS[built["avatar"].look]
    built["voice"] = replace(built["voice"], host={"espeak": {"variant": HOST_VARIANT[look.voice]}})
    cfg = Config(**built, source=source)
    env_dir = os.environ.get("STREAMHOST_DATA_DIR")
    if env_dir:
        cfg = Config(
            **{
                **{n: getattr(cfg, n) for n in SECTIONS},
                "store": StoreConfig(data_dir=str(Path(env_dir).resolve())),
            },
            source=source,
        )
    return cfg


def _split_voice(values: dict[str, Any], base: Path | None, problems: list[str]) -> dict:
    """[voice] -> its stage keys, plus ``params`` (engine -> its settings: the ``[voice.<engine>]``
    tables, with the main engine's flat keys on top) and ``langs`` (one table per
    [voice.<lang>]), each checked against its engine's registry row. Settings are kept per
    engine so that switching ``engine`` (an override, the ``voice`` command) never carries
    one engine's keys into another."""
    stage = {f.name for f in fields(VoiceConfig)} - {"params", "langs", "host"}
    out = {k: v for k, v in values.items() if k in stage}
    engine = out.get("engine", VoiceConfig.engine)
    flat = {k: v for k, v in values.items() if k not in stage and not isinstance(v, dict)}
    params: dict[str, dict[str, Any]] = {}
    for name in VOICES:
        table = values.get(name)
        if name == engine or isinstance(table, dict):
            own = dict(table) if isinstance(table, dict) else {}
            where = "voice" if name == engine and not own else f"voice.{name}"
            if own.get("engine", name) != name:
                problems.append(f"voice.{name}.engine = {_fmt(own['engine'])}: must be {name!r}")
            own.pop("engine", None)
            if name == engine:
                own.update(flat)
                where = "voice"
            more, clean = VOICES.check({"engine": name, **own}, where, base,
                                       fixed=("engine",), type_key="engine")  # fmt: skip
            problems.extend(more)
            params[name] = {k: v for k, v in (clean or {}).items() if k != "engine"}
    if engine not in VOICES:
        problems.append(f"voice.engine = {_fmt(engine)}: must be one of {', '.join(VOICES)}")
    for key, value in values.items():
        if isinstance(value, dict) and key not in VOICES and key not in LANGUAGES:
            problems.append(f"voice.{key}: unknown table; allowed: a language "
                            f"({', '.join(LANGUAGES)}) or an engine ({', '.join(VOICES)})")  # fmt: skip
    out["params"] = params
    langs: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        table = values.get(lang)
        if isinstance(table, dict):
            eng = table.get("engine")
            merged = {**params.get(eng, {}), **table} if isinstance(eng, str) else table
            more, clean = VOICES.check(
                merged, f"voice.{lang}", base, fixed=("engine",), type_key="engine"
            )
            problems.extend(more)
            if clean is not None:
                langs[lang] = clean
    out["langs"] = langs
    out["host"] = {}  # from [avatar], once every section is read (_build)
    return out


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a TOML config (default: configs/default.toml)."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    if not p.is_file():
        raise ConfigError([f"config file {str(p)!r} does not exist"], str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError([f"not valid UTF-8: {e}"], str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], str(p)) from None
    return _build(data, base=p.resolve().parent, source=str(p))


def config_from_dict(data: dict[str, Any], base: Path | None = None) -> Config:
    """Validate a config given as a dict (tests, programmatic use)."""
    return _build(data, base=base, source="dict")
