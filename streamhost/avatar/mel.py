"""Wav2Lip's mel features: 16 kHz audio in, (80, T) log-mel frames at 80 per second out.

The recipe is the one Wav2Lip models were trained on (its ``audio.py`` on librosa's defaults):
pre-emphasis 0.97; centred STFT (reflect padding) with a periodic Hann window, n_fft = window =
800, hop 200; magnitude; Slaney-style mel filterbank (80 bands, 55-7600 Hz, Slaney area norm);
dB = 20 log10(max(1e-5, x)) - 20; then clip(8 (S + 100) / 100 - 4, -4, 4).

``mel_window(mel, i, fps)`` is the 16-frame window for video frame i. ``LiveMel`` computes the
same windows one video frame at a time from a live stream at any sample rate: frame i's window
reaches ~212 ms past the frame's start, so the caller supplies that much audio ahead.
"""

from __future__ import annotations

from functools import cache
from math import gcd

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
MEL_STEP = 16  # mel frames per video frame window
MEL_FPS = SAMPLE_RATE // HOP  # 80


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, mel)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


@cache
def mel_filterbank(
    sr: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = FMIN,
    fmax: float = FMAX,
) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, Slaney-normalised (each has unit area in Hz
    / 2): what ``librosa.filters.mel`` returns with its defaults."""
    fft_freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


@cache
def _hann() -> np.ndarray:
    # Periodic Hann (scipy.signal.get_window("hann", 800, fftbins=True), librosa's default).
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)
    w.setflags(write=False)
    return w


def _normalize(mag: np.ndarray) -> np.ndarray:
    mel = mel_filterbank() @ mag
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - 20.0
    return np.clip(8.0 * (db + 100.0) / 100.0 - 4.0, -4.0, 4.0)


def _frames_mel(padded: np.ndarray, n: int) -> np.ndarray:
    """Mel of ``n`` frames hop-spaced from the start of an already pre-emphasised, padded
    signal (frame k = padded[k*HOP : k*HOP + N_FFT])."""
    idx = np.arange(n)[:, None] * HOP + np.arange(N_FFT)[None, :]
    spec = np.abs(np.fft.rfft(padded[idx] * _hann(), axis=1)).T
    return _normalize(spec)


def preemphasis(wav: np.ndarray) -> np.ndarray:
    y = np.asarray(wav, dtype=np.float64)
    out = y.copy()
    out[1:] -= PREEMPHASIS * y[:-1]
    return out


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """16 kHz float audio in [-1, 1] (any length >= 1) -> (80, 1 + len // 200) float64."""
    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if wav.size == 0:
        raise ValueError("melspectrogram needs at least one sample")
    y = preemphasis(wav)
    pad = N_FFT // 2
    # librosa centres frames with reflect padding, which needs more than `pad` samples.
    padded = np.pad(y, pad, mode="reflect") if y.size > pad else np.pad(y, pad)
    return _frames_mel(padded, 1 + y.size // HOP)


def window_start(i: int, fps: int) -> int:
    """First mel frame of video frame i's window: int(i * 80 / fps), in exact integer maths."""
    return (i * MEL_FPS) // fps


def mel_window(mel: np.ndarray, i: int, fps: int) -> np.ndarray:
    """(80, 16) window for video frame i; past the end, the last full window repeats."""
    if mel.shape[1] < MEL_STEP:
        raise ValueError(f"need at least {MEL_STEP} mel frames, got {mel.shape[1]}")
    start = min(window_start(i, fps), mel.shape[1] - MEL_STEP)
    return mel[:, start : start + MEL_STEP]


def _resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    if up == down:
        return x
    from scipy.signal import resample_poly  # imported up front by LiveMel (it takes ~0.5 s)

    return resample_poly(x, up, down)


class LiveMel:
    """Video frame i's (80, 16) window from live int16 audio at ``sample_rate``.

    ``needed_ahead`` samples past the frame's start must be available (see SpeechPlayer's
    lookahead). ``window(i, audio, start)`` takes audio covering stream samples from ``start``
    and returns the window; the stream before sample 0 is reflect-padded exactly as
    ``melspectrogram`` does, so a stream fed here matches the batch computation (at 16 kHz bit
    for bit up to float rounding; at other rates through a polyphase resampler).
    """

    #: 16 kHz samples of context either side of the resampled span (edge effects stay outside)
    MARGIN = 96

    def __init__(self, sample_rate: int, fps: int) -> None:
        if sample_rate <= 0 or fps <= 0:
            raise ValueError(f"bad sample_rate {sample_rate} / fps {fps}")
        self.sample_rate = sample_rate
        self.fps = fps
        g = gcd(sample_rate, SAMPLE_RATE)
        self.up, self.down = SAMPLE_RATE // g, sample_rate // g
        if self.up != self.down:
            import scipy.signal  # noqa: F401 - now, not in the first speaking frame on air
        # A window's first mel frame lies less than one hop before its video frame's start;
        # the window then spans 15 hops plus half an FFT (plus resampler context either side).
        ahead16 = (MEL_STEP - 1) * HOP + N_FFT // 2 + self.MARGIN + self.up
        behind16 = HOP + N_FFT // 2 + 1 + self.MARGIN + self.up
        self.needed_ahead = -(-ahead16 * sample_rate // SAMPLE_RATE) + self.down
        self.needed_behind = -(-behind16 * sample_rate // SAMPLE_RATE) + self.down

    def span16(self, i: int) -> tuple[int, int]:
        """16 kHz sample range [a, b) the window of frame i reads (before pre-emphasis)."""
        m0 = window_start(i, self.fps)
        return m0 * HOP - N_FFT // 2 - 1, (m0 + MEL_STEP - 1) * HOP + N_FFT // 2

    def span(self, i: int) -> tuple[int, int]:
        """Stream sample range [lo, hi) that frame i's window hears."""
        a16, b16 = self.span16(i)
        r = self.sample_rate
        return max(0, a16) * r // SAMPLE_RATE, -(-b16 * r // SAMPLE_RATE)

    def window(self, i: int, audio: np.ndarray, start: int) -> np.ndarray:
        """audio: int16 (or float in [-1, 1]) stream samples from index ``start``; returns
        (80, 16) float32. Samples the audio does not cover count as silence."""
        a16, b16 = self.span16(i)
        lo16 = max(0, a16) - self.MARGIN
        lo16 -= lo16 % self.up  # a whole number of input samples per resampler phase
        hi16 = b16 + self.MARGIN
        lo_in = lo16 // self.up * self.down
        hi_in = -(-hi16 // self.up) * self.down
        x = np.zeros(hi_in - lo_in, dtype=np.float64)
        src = np.asarray(audio)
        scale = 1.0 / 32768.0 if src.dtype == np.int16 else 1.0
        s0, s1 = max(lo_in, start, 0), min(hi_in, start + src.size)
        if s1 > s0:
            x[s0 - lo_in : s1 - lo_in] = src[s0 - start : s1 - start] * scale
        y16 = _resample(x, self.up, self.down)
        # y16[k] is stream 16 kHz sample lo16 + k; keep [max(0, a16), b16).
        seg = y16[max(0, a16) - lo16 : b16 - lo16]
        if a16 < 0:
            # The window reaches before the stream start: build it the batch way (pre-emphasis
            # from sample 0, reflect padding), which the first frames of a stream need.
            y = preemphasis(seg)
            padded = np.pad(y, N_FFT // 2, mode="reflect")
            m0 = window_start(i, self.fps)
            padded = padded[m0 * HOP :]
        else:
            padded = preemphasis(seg)[1:]
        return _frames_mel(padded, MEL_STEP).astype(np.float32)
