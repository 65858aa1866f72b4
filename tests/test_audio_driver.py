"""The raw-audio mouth driver: synthetic vowels, a fricative and silence in; the mouth opens on
voiced parts, closes in silence within a few frames, the look-ahead bound holds, and garbage in
never gives NaN out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from streamhost.avatar.audio_driver import MAX_LOOKAHEAD_S, AudioMouth, hop_features
from streamhost.avatar.driver import FaceDriver
from streamhost.avatar.params import P

SR = 48000
FPS = 25
SPF = SR // FPS


def vowel(seconds: float, formants: tuple[float, ...], f0: float = 140.0, level: float = 0.3):
    """A voiced vowel: harmonics of f0 shaped by formant resonances (float, -1..1)."""
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros_like(t)
    for h in range(1, int(7000 / f0)):
        f = h * f0
        amp = sum(1.0 / (1.0 + ((f - fm) / 80.0) ** 2) for fm in formants)
        x += amp * np.sin(2 * math.pi * f * t + h)
    return level * x / np.abs(x).max()


def fricative(seconds: float, level: float = 0.2, seed: int = 0) -> np.ndarray:
    """'s'-like noise: white noise with the energy below 3 kHz removed."""
    n = int(seconds * SR)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spec[np.fft.rfftfreq(n, 1 / SR) < 3000] = 0
    x = np.fft.irfft(spec, n)
    return level * x / np.abs(x).max()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR))


AH, EE, OO = (750, 1200), (300, 2300), (320, 800)


def to_pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 32767, -32768, 32767).astype(np.int16)


def drive(pcm: np.ndarray, lookahead: float = 0.08):
    """Run pcm through AudioMouth + FaceDriver frame by frame: (output pcm, mouth open per
    frame, params per frame)."""
    mouth = AudioMouth(SR, lookahead)
    face = FaceDriver(fps=FPS, seed=1)
    face.set_mouth_source(mouth.target_at)
    pad = (-len(pcm)) % SPF
    pcm = np.concatenate([pcm, np.zeros(pad, dtype=np.int16)])
    out, opens, params = [], [], []
    for i in range(len(pcm) // SPF):
        t = i / FPS
        out.append(mouth.process(pcm[i * SPF : (i + 1) * SPF], t))
        p = face.params_at(t)
        params.append(p)
        opens.append(float(p[P.MOUTH_OPEN]))
    return np.concatenate(out), np.array(opens), np.array(params)


def test_mouth_follows_voice_and_closes_in_silence() -> None:
    segs = [silence(0.4), vowel(0.6, AH), silence(0.6), vowel(0.5, EE), silence(0.6)]
    x = np.concatenate(segs)
    out, opens, params = drive(to_pcm(x), lookahead=0.08)
    assert np.isfinite(params).all()

    def frame(t: float) -> int:
        return int(round(t * FPS))

    # Silent start: the mouth rests.
    assert opens[: frame(0.25)].max() < 0.02
    # Voiced "a" (0.4..1.0 s as heard, the audio is delayed 80 ms): the mouth is well open.
    assert opens[frame(0.6) : frame(1.0)].mean() > 0.35, opens
    # ... and rests again within 4 frames (160 ms) of the audio going silent (1.08 s heard).
    assert opens[frame(1.08 + 0.16) : frame(1.5)].max() < 0.05, opens
    # Voiced "i" (1.6..2.1 s + 80 ms): open again, and wide more than round.
    seg = slice(frame(1.8), frame(2.15))
    assert opens[seg].mean() > 0.2
    assert params[seg, P.MOUTH_WIDE].mean() > params[seg, P.MOUTH_ROUND].mean() + 0.1
    assert opens[frame(2.18 + 0.16) :].max() < 0.05


def test_look_ahead_delays_audio_exactly_and_mouth_leads_at_most_that() -> None:
    x = to_pcm(np.concatenate([silence(0.8), vowel(0.4, AH), silence(0.4)]))
    for la in (0.0, 0.08, MAX_LOOKAHEAD_S):
        out, opens, _ = drive(x, lookahead=la)
        d = int(round(la * SR))
        assert np.array_equal(out[d : d + len(x)], x[: len(out) - d])
        assert not out[:d].any()
        heard_onset = 0.8 + la
        first_open = np.argmax(opens > 0.05) / FPS
        # The mouth may lead the sound, but never by more than the look-ahead (plus a frame).
        assert heard_onset - la - 1 / FPS <= first_open <= heard_onset + 0.1, (la, first_open)
    with pytest.raises(ValueError, match="look-ahead"):
        AudioMouth(SR, MAX_LOOKAHEAD_S + 0.01)
    with pytest.raises(ValueError, match="look-ahead"):
        AudioMouth(SR, -0.01)


def test_spectral_shape() -> None:
    w = 1024
    _, wide_i, round_i, bite_i = hop_features(vowel(0.05, EE)[:w], SR)
    _, wide_u, round_u, _ = hop_features(vowel(0.05, OO)[:w], SR)
    loud_s, _, _, bite_s = hop_features(fricative(0.05)[:w], SR)
    assert wide_i > 0.5 and wide_i > round_i, (wide_i, round_i)
    assert round_u > 0.3 and round_u > wide_u, (round_u, wide_u)
    assert loud_s > 0 and bite_s > 0.5 and bite_i < 0.2, (bite_s, bite_i)
    # Below the noise gate nothing moves.
    assert hop_features(vowel(0.05, AH, level=0.003)[:w], SR) == (0.0, 0.0, 0.0, 0.0)


def test_switching_drivers_does_not_jump() -> None:
    """Visemes -> live audio -> visemes: the same springs carry the mouth across."""
    mouth = AudioMouth(SR, 0.08)
    face = FaceDriver(fps=FPS, seed=0)
    face.start_speech(0.0, [(0.0, 4.0, 2)])  # OPEN for 4 s
    x = to_pcm(vowel(1.0, AH))
    prev = None
    for i in range(75):
        t = i / FPS
        if i == 25:
            face.set_mouth_source(mouth.target_at)
        if i == 50:
            face.set_mouth_source(None)
        mouth.process(x[(i % 25) * SPF : (i % 25 + 1) * SPF], t)
        o = float(face.params_at(t)[P.MOUTH_OPEN])
        if i in (25, 26, 50, 51):  # steady before, so any step here is the switch's
            assert prev is not None and abs(o - prev) < 0.15, (i, o, prev)
        prev = o


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(0, 3000), elements=st.floats(allow_nan=True, width=64)))
def test_hop_features_never_nan(x: np.ndarray) -> None:
    v = hop_features(x, SR)
    assert all(math.isfinite(f) and 0.0 <= f <= 1.0 for f in v), v


@settings(max_examples=40, deadline=None)
@given(
    st.lists(arrays(np.int16, st.integers(0, 2 * SPF)), min_size=1, max_size=8),
    st.floats(0.0, MAX_LOOKAHEAD_S),
)
def test_garbage_pcm_never_nan(blocks: list[np.ndarray], la: float) -> None:
    mouth = AudioMouth(SR, la)
    face = FaceDriver(fps=FPS)
    face.set_mouth_source(mouth.target_at)
    for i, b in enumerate(blocks):
        out = mouth.process(b, i / FPS)
        assert out.shape == b.shape and out.dtype == np.int16
        assert np.isfinite(mouth.target_at(i / FPS)).all()
        p = face.params_at(i / FPS)
        assert np.isfinite(p).all() and 0.0 <= p[P.MOUTH_OPEN] <= 1.0


def test_broken_mouth_source_rests() -> None:
    face = FaceDriver(fps=FPS)
    face.set_mouth_source(lambda t: np.array([np.nan, np.inf, -1.0]))
    assert np.isfinite(face.params_at(0.04)).all()
    face.set_mouth_source(lambda t: 1 / 0)
    assert face.params_at(0.08)[P.MOUTH_OPEN] < 0.01
