"""espeak-ng's voice variant (``[voice.espeak] variant``): the default host is a woman and her
English voice (hibari heart) speaks at a median pitch of about 196 Hz, while espeak-ng's own
voices are male (about 100 Hz): her German, Italian and Chinese answers dropped an octave. The
default config's variant "f2" keeps them near her pitch."""

from __future__ import annotations

import numpy as np
import pytest

from streamhost.config import ConfigError, load_config
from streamhost.frames import Sentence
from streamhost.voice.espeak import EspeakTTS
from streamhost.voice.registry import build_voice, voice_problems

TEXTS = {
    "de": "Der Wasserkocher kostet heute nur 31 Euro 92, mit fünf Temperaturstufen.",
    "it": "Il bollitore elettrico costa stasera 31 euro e 92, con cinque temperature.",
    "zh": "电热水壶今晚只要31.92欧元，有五档温度。",
}


def median_pitch(pcm: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) of the voiced 40 ms frames, by autocorrelation (70-400 Hz)."""
    x = pcm.astype(np.float32) / 32768.0
    n, hop, out = int(0.04 * sr), int(0.01 * sr), []
    for i in range(0, len(x) - n, hop):
        f = x[i : i + n] - x[i : i + n].mean()
        if np.sqrt((f * f).mean()) < 0.02:
            continue
        ac = np.correlate(f, f, "full")[n - 1 :]
        lo, hi = sr // 400, sr // 70
        k = lo + int(np.argmax(ac[lo:hi]))
        if ac[k] > 0.45 * ac[0]:
            out.append(sr / k)
    return float(np.median(out))


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_a_female_variant_speaks_an_octave_above_espeaks_own(lang: str) -> None:
    own = EspeakTTS(24000).synthesize(Sentence(TEXTS[lang], "script", lang=lang))
    her = EspeakTTS(24000, variant="f2").synthesize(Sentence(TEXTS[lang], "script", lang=lang))
    low, high = median_pitch(own.pcm, 24000), median_pitch(her.pcm, 24000)
    assert low < 120 and 160 < high < 230, (low, high)
    # the same words, timed by the same events
    assert [w.symbol for w in her.words] == [w.symbol for w in own.words]


def test_the_default_config_speaks_other_languages_in_the_hosts_female_voice() -> None:
    cfg = load_config()
    assert cfg.voice.engine_table("espeak")["variant"] == "f2"
    vs = build_voice(cfg.voice, 24000, "en")
    try:
        speech = vs.synthesize(Sentence(TEXTS["de"], "script", lang="de"))
        assert 160 < median_pitch(speech.pcm, 24000) < 230
    finally:
        vs.close()


def test_a_wrong_variant_is_named_by_check_and_by_the_voice() -> None:
    with pytest.raises(ConfigError, match=r'voice\.espeak\.variant = "f9": must be'):
        load_config().with_overrides(voice={"espeak": {"variant": "f9"}})
    with pytest.raises(ValueError, match="variant must be one of"):
        EspeakTTS(24000, variant="Demonic")
    assert voice_problems(load_config().voice, 24000, "en") == []
    assert EspeakTTS(24000, "de", variant="m3").info().voice == "de+m3"


def test_the_variant_follows_the_look_unless_the_config_names_one(tmp_path) -> None:
    # A config of the shop's own (no [voice.espeak] table) still gives her a woman's voice in
    # German, and the male look kai a man's; the choice follows a look changed by an override.
    own = tmp_path / "shop.toml"
    own.write_text('[stream]\nname = "shop"\n')
    cfg = load_config(own)
    assert cfg.voice.engine_table("espeak")["variant"] == "f2"
    kai = cfg.with_overrides(avatar={"look": "kai"})
    assert kai.voice.engine_table("espeak")["variant"] == ""
    assert (
        kai.with_overrides(avatar={"look": "zuri"}).voice.engine_table("espeak")["variant"] == "f2"
    )
    vs = build_voice(kai.voice, 24000, "en")
    try:
        speech = vs.synthesize(Sentence(TEXTS["de"], "script", lang="de"))
        assert median_pitch(speech.pcm, 24000) < 120
    finally:
        vs.close()
    # a variant the file names wins over the look, also in a language's own espeak table
    named = kai.with_overrides(voice={"espeak": {"variant": "m3"}, "it": {"engine": "espeak"}})
    assert named.voice.engine_table("espeak")["variant"] == "m3"
    assert named.voice.table("it")["variant"] == "m3"
    assert kai.with_overrides(voice={"it": {"engine": "espeak"}}).voice.table("it")["variant"] == ""
    with pytest.raises(ConfigError, match="voice.host"):
        load_config().with_overrides(voice={"host": {"espeak": {"variant": "f1"}}})


def test_check_names_a_voice_that_does_not_fit_the_look(tmp_path) -> None:
    from streamhost.config_warnings import config_warnings

    assert config_warnings(load_config()) == []
    kai = load_config().with_overrides(avatar={"look": "kai"})
    warned = config_warnings(kai)
    # English: hibari heart is a woman's voice and no male one ships; the fallback is a man's
    assert (
        len(warned) == 1 and "'kai' is a male host" in warned[0] and "voice (hibari)" in warned[0]
    )
    mixed = kai.with_overrides(
        voice={"engine": "espeak", "de": {"engine": "espeak", "variant": "f3"}}
    )
    assert [w.split(" speaks")[0].split("but ")[1] for w in config_warnings(mixed)] == [
        "voice.de (espeak)"
    ]
