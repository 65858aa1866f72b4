"""Compliance profiles: what each sets (label, disclosure interval, presence) and what `check`
reports per profile for a config that breaks its rules; consent expiry under every profile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streamhost.cli import main
from streamhost.compliance import (
    PROFILES,
    compliance_problems,
    disclosure_interval_s,
    disclosure_languages,
    presence_timeout_s,
)
from streamhost.config import ConfigError, config_from_dict, load_config

PACK = Path(__file__).parents[1] / "assets" / "avatar" / "default"


def cfg(**sections):
    return config_from_dict(sections)


def test_the_embedded_defaults_pass_the_generic_profile() -> None:
    c = load_config()
    assert c.stream.compliance == "generic"
    assert compliance_problems(c) == []


def test_profiles_set_the_label_and_expose_their_values() -> None:
    d = cfg(stream={"compliance": "douyin", "language": "en"})
    assert d.avatar.label == PROFILES["douyin"].label
    assert disclosure_interval_s(d) == 600 and disclosure_languages(d) == ("en", "zh")
    assert presence_timeout_s(d) == 300 and presence_timeout_s(cfg()) is None
    own = cfg(stream={"compliance": "douyin"}, avatar={"label": "AI host"})
    assert own.avatar.label == "AI host"  # the operator's own wording is kept, then checked
    with pytest.raises(ConfigError, match='stream.compliance = "x": must be one of generic'):
        cfg(stream={"compliance": "x"})


@pytest.mark.parametrize(
    ("profile", "sections", "expected"),
    [
        ("generic", {"avatar": {"label": "Live"}}, "needs a visible label containing 'AI'"),
        ("douyin", {}, "ContentProducer"),
        ("douyin", {"avatar": {"label_corner": "bottom-left"}}, "allows top-left, top-right"),
        ("tiktok", {}, "the host's voice is synthesized"),
        ("eu", {"output": {"record": "/tmp/x.mp4"}}, "provenance.enabled = false"),
        ("generic", {"avatar": {"label": "AI 生成"}}, "no glyphs"),
    ],
)
def test_check_names_the_rule_a_config_breaks(profile, sections, expected) -> None:
    c = cfg(stream={"compliance": profile}, **sections)
    assert any(expected in p for p in compliance_problems(c)), compliance_problems(c)


def test_show_disclosure_slower_than_the_profile_is_reported(tmp_path: Path) -> None:
    show = tmp_path / "show.toml"
    show.write_text("[disclosure]\nevery_minutes = 30\n")
    c = cfg(stream={"compliance": "douyin"}, talk={"show": str(show)})
    assert any("every_minutes = 30" in p and "every 10 minutes" in p
               for p in compliance_problems(c))  # fmt: skip
    show.write_text("[disclosure]\nenabled = false\n")
    assert any("enabled = false" in p for p in compliance_problems(c))


def test_tiktok_figure_share_is_checked_against_the_framing(tmp_path: Path) -> None:
    photo = tmp_path / "pack"
    shutil.copytree(PACK, photo)
    # a pack whose picture is the whole canvas (a presenter video) covers all of the screen
    from streamhost import compliance

    c = cfg(stream={"compliance": "tiktok"})
    pack = compliance._pack(c)
    assert compliance.figure_share(c, pack) <= 0.5
    whole = type(pack)(**{**{f: getattr(pack, f) for f in pack.__slots__}, "whole_canvas": True})
    assert compliance.figure_share(c, whole) == 1.0


def test_expired_consent_fails_check_under_every_profile(tmp_path: Path, capsys) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    (pack / "pack.toml").write_text((PACK / "pack.toml").read_text() + '\n[consent]\nperson = '
                                    '"Ana"\nagreed = true\ndate = 2024-01-01\nexpires = '
                                    '2025-06-30\n')  # fmt: skip
    conf = tmp_path / "c.toml"
    conf.write_text(f'[avatar]\npack = "{pack}"\n')
    assert main(["check", "--config", str(conf)]) == 2
    err = capsys.readouterr().err
    assert "Ana's consent expired on 2025-06-30: the pack cannot go on air" in err
    c = cfg(stream={"compliance": "douyin"}, avatar={"pack": str(pack)})
    assert any("[consent] scope is empty" in p for p in compliance_problems(c))
