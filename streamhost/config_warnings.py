"""What a config runs with but may surprise a viewer: ``streamhost check`` prints these as
warnings and ``streamhost run`` logs them at start."""

from __future__ import annotations

from .config import Config


def config_warnings(cfg: Config) -> list[str]:
    """What runs but may surprise a viewer: a voice that does not fit the host, a show in
    another language than the stream's."""
    return host_voice_warnings(cfg) + talk_warnings(cfg)


def host_voice_warnings(cfg: Config) -> list[str]:
    """The built-in host's look and a voice it speaks with that is known to be the other sex's
    (kai with hibari heart: there is no male English voice in the package)."""
    from .avatar.looks import LOOKS
    from .avatar.pack import load_pack
    from .voice.registry import voice_sex

    if load_pack(cfg.avatar.pack, check_model=False).family != "puppet":
        return []  # a presenter pack's own person: the config does not know who it is
    look = LOOKS[cfg.avatar.look]
    tables = {"voice": cfg.voice.table(), "voice.espeak": cfg.voice.engine_table("espeak")}
    tables.update({f"voice.{lang}": cfg.voice.table(lang) for lang in cfg.voice.langs})
    out = []
    for where, table in tables.items():
        sex = voice_sex(table)
        if sex is not None and sex != look.voice:
            engine = table["engine"]
            fix = (
                'set its variant ("f1".."f5" female, "" or "m1".."m7" male)'
                if engine == "espeak"
                else f"bring a {look.voice} voice file (engine piper or kokoro), or engine espeak"
            )
            out.append(f"avatar.look = {look.name!r} is a {look.voice} host, but {where} "
                       f"({engine}) speaks with a {sex} voice: {fix}")  # fmt: skip
    return out


def talk_warnings(cfg: Config) -> list[str]:
    """A show in another language than the stream's."""
    if not cfg.talk.show:
        return []
    from .talk.catalog import load_catalog
    from .talk.show_parse import load_show

    show = load_show(
        cfg.talk.show, load_catalog(cfg.talk.catalog), default_lang=cfg.stream.language
    )
    if show.lang == cfg.stream.language:
        return []
    return [
        f"talk.show = {cfg.talk.show!r} is in {show.lang!r}, the stream in "
        f"{cfg.stream.language!r}: its scripts are said in {show.lang!r} (with that language's "
        "voice); templates, answers and announcements follow the stream and the viewers"
    ]
