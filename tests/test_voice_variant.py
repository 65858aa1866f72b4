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
