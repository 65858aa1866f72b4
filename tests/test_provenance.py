"""Signed recordings: segments signed with C2PA off the AV path, verified with c2pa's Reader,
tampering detected, a killed recorder leaving earlier segments signed and the last one playable
and marked unsigned; bad keys and failed signs; consent that expired or was revoked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

pytest.importorskip("c2pa")

from streamhost.cli import main  # noqa: E402
from streamhost.frames import StreamFormat  # noqa: E402
from streamhost.output.encoder import Encoder  # noqa: E402
from streamhost.output.provenance import (  # noqa: E402
    TRAINED_ALGORITHMIC_MEDIA,
    Provenance,
    ProvenanceError,
    SegmentSigner,
    make_test_chain,
    stream_provenance,
    verify,
)
from streamhost.output.recorder import Mp4Recorder  # noqa: E402
from streamhost.output.sidecar import read_sidecar  # noqa: E402

W, H, FPS, SR = 320, 240, 25, 48000


def _frames(enc: Encoder, start: int, count: int) -> None:
    import numpy as np

    from streamhost.frames import AVFrame

    for i in range(start, start + count):
        video = np.full((H * 3 // 2, W), 128, np.uint8)
        video[:H] = (np.arange(W)[None, :] + 4 * i) % 256
        audio = (np.sin(np.arange(SR // FPS) / 7.0 + i) * 3000).astype(np.int16)
        while enc.queue_depth >= 6:
            time.sleep(0.002)
        enc.submit(AVFrame(index=i, pts=i / FPS, video=video, audio=audio))


def _record(tmp: Path, keys: dict[str, Path], seconds: float, segment_s: float,
            alerts: list | None = None) -> Mp4Recorder:  # fmt: skip
    prov = Provenance("shop", "sess1", pack="default", consent_hash="sha256:00",
                      signer=SegmentSigner(keys["chain"], keys["key"]),
                      alert=lambda kind, **f: alerts.append((kind, f)) if alerts is not None else None)  # fmt: skip
    enc = Encoder(StreamFormat(W, H, FPS, SR), video_bitrate=300_000)
    rec = Mp4Recorder(tmp / "rec.mp4", fragmented=True, segment_s=segment_s, provenance=prov)
    enc.add_sink(rec)
    enc.start()
    _frames(enc, 0, int(seconds * FPS))
    enc.close()
    return rec


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_test_chain(tmp_path_factory.mktemp("keys"))


def test_segments_are_signed_trusted_and_tamper_evident(tmp_path: Path, keys) -> None:
    rec = _record(tmp_path, keys, 5.2, 2)
    assert [p.name for p in rec.segments][0] == "rec.mp4" and len(rec.segments) == 3
    assert rec.sign_stats.signed == 3 and rec.sign_stats.failed == 0
    root = keys["root"].read_bytes()
    for i, seg in enumerate(rec.segments, 1):
        v = verify(seg, root)
        assert v.state == "Trusted", (seg, v.failures)
        assert read_sidecar(seg) is None
        assertions = {a["label"]: a["data"] for a in v.manifest["assertions"]}
        action = assertions["c2pa.actions.v2"]["actions"][0]
        assert action["action"] == "c2pa.created"
        assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
        seg_info = assertions["org.streamhost.segment"]
        assert (seg_info["stream"], seg_info["segment"], seg_info["presenter_pack"]) == (
            "shop",
            i,
            "default",
        )
        assert seg_info["consent_hash"] == "sha256:00"
        assert seg_info["start"] <= seg_info["end"]
        assert v.manifest["claim_generator_info"][0]["name"] == "streamhost"
        with av.open(str(seg)) as c:  # each segment plays on its own, from time 0
            assert json.loads(c.metadata["AIGC"])["ProduceID"] == "shop:sess1"
            frames = list(c.decode(video=0))
            assert frames[0].pts == 0 and len(frames) >= (2 * FPS - 1 if i < 3 else FPS)
    # without the root as trust anchor: valid signature, untrusted credential
    assert verify(rec.segments[0]).failures == ["signingCredential.untrusted"]
    # one byte of media changed -> validation fails
    data = bytearray(rec.segments[1].read_bytes())
    mdat = data.index(b"mdat") + 200
    data[mdat] ^= 0xFF
    rec.segments[1].write_bytes(bytes(data))
    v = verify(rec.segments[1], root)
    assert v.state == "Invalid" and "assertion.bmffHash.mismatch" in v.failures


_CRASH = """
import os, signal, sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from test_provenance import FPS, _frames
from streamhost.frames import StreamFormat
from streamhost.output.encoder import Encoder
from streamhost.output.provenance import Provenance, SegmentSigner
from streamhost.output.recorder import Mp4Recorder
prov = Provenance("shop", "s", signer=SegmentSigner({chain!r}, {key!r}))
enc = Encoder(StreamFormat(320, 240, FPS, 48000), video_bitrate=300_000)
rec = Mp4Recorder(Path({out!r}), fragmented=True, segment_s=2, provenance=prov)
enc.add_sink(rec)
enc.start()
_frames(enc, 0, int(5.2 * FPS))
while rec.sign_stats.signed < 2:
    time.sleep(0.01)
time.sleep(0.3)  # the open segment's fragments reach the file
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_mid_segment_leaves_earlier_signed_and_last_playable_unsigned(
    tmp_path: Path, keys
) -> None:
    out = tmp_path / "rec.mp4"
    code = _CRASH.format(tests=str(Path(__file__).parent), chain=str(keys["chain"]),
                         key=str(keys["key"]), out=str(out))  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    segs = sorted(tmp_path.glob("rec*.mp4"), key=lambda p: (p.name != "rec.mp4", p.name))
    assert len(segs) == 3, segs
    root = keys["root"].read_bytes()
    assert [verify(s, root).state for s in segs[:2]] == ["Trusted", "Trusted"]
    last = verify(segs[2], root)
    assert last.state == "Unsigned" and last.note is not None
    assert last.note["state"] == "recording"
    with av.open(str(segs[2])) as c:  # fragmented: playable up to the last fragment
        assert sum(1 for _ in c.decode(video=0)) >= FPS // 2


def test_a_failed_sign_alerts_and_leaves_the_segment_unsigned(tmp_path: Path, keys,
                                                              monkeypatch) -> None:  # fmt: skip
    def broken(self, src, dst, manifest):
        raise RuntimeError("disk full")

    monkeypatch.setattr(SegmentSigner, "sign", broken)
    alerts: list = []
    rec = _record(tmp_path, keys, 2.5, 2, alerts)
    assert rec.sign_stats.failed == 2 and len(rec.segments) == 2
    assert [a[0] for a in alerts] == ["provenance_sign_failed"] * 2
    note = read_sidecar(rec.segments[0])
    assert note["state"] == "unsigned" and "disk full" in note["reason"]
    with av.open(str(rec.segments[0])) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 2 * FPS - 1


def test_bad_keys_are_refused_with_the_reason(tmp_path: Path, keys) -> None:
    with pytest.raises(ProvenanceError, match="does not exist"):
        SegmentSigner(tmp_path / "nope.pem", keys["key"])
    with pytest.raises(ProvenanceError, match="not a PEM"):
        (tmp_path / "junk.pem").write_text("hello")
        SegmentSigner(keys["chain"], tmp_path / "junk.pem")
    other = make_test_chain(tmp_path / "other")
    with pytest.raises(ProvenanceError, match="does not match"):
        SegmentSigner(keys["chain"], other["key"])
    with pytest.raises(ProvenanceError, match="self-signed"):
        SegmentSigner(keys["root"], keys["key"])  # the CA alone: a self-signed "signer"


def test_cli_init_says_untrusted_and_verify_prints_the_state(tmp_path: Path, keys,
                                                             capsys) -> None:  # fmt: skip
    assert main(["provenance", "init", "--out", str(tmp_path / "k")]) == 0
    out = capsys.readouterr().out
    assert "no platform or C2PA validator trusts it" in out
    assert (tmp_path / "k" / "root.pem").is_file()
    assert oct((tmp_path / "k" / "signer.key").stat().st_mode & 0o777) == "0o600"
    rec = _record(tmp_path, keys, 1.0, 0)
    assert main(["provenance", "verify", str(rec.segments[0]), "--trust",
                 str(keys["root"])]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.strip().endswith("Trusted") and "trainedAlgorithmicMedia" in out
    plain = tmp_path / "plain.mp4"
    shutil.copy(rec.segments[0], plain)
    os.truncate(plain, 0)
    assert main(["provenance", "verify", str(tmp_path / "missing.mp4")]) == 2


def _pack_with_consent(tmp_path: Path, consent: str) -> Path:
    src = Path(__file__).parents[1] / "assets" / "avatar" / "default"
    dst = tmp_path / "pack"
    shutil.copytree(src, dst)
    (dst / "pack.toml").write_text((src / "pack.toml").read_text() + "\n" + consent)
    return dst


def test_expired_or_revoked_consent_keeps_the_pack_off_air(tmp_path: Path) -> None:
    from streamhost.avatar.pack import load_pack
    from streamhost.config import config_from_dict

    expired = _pack_with_consent(
        tmp_path, '[consent]\nperson = "Ana"\nagreed = true\ndate = "2024-01-01"\n'
        'scope = "AI host"\nexpires = "2025-01-01"\n')  # fmt: skip
    cfg = config_from_dict({"avatar": {"pack": str(expired)}})
    with pytest.raises(ProvenanceError, match="Ana's consent expired on 2025-01-01"):
        stream_provenance(cfg, load_pack(expired, check_model=False))
    (expired / "pack.toml").write_text(
        (expired / "pack.toml").read_text().replace('expires = "2025-01-01"', "revoked = true")
    )
    with pytest.raises(ProvenanceError, match="was revoked"):
        stream_provenance(cfg, load_pack(expired, check_model=False))
    (expired / "pack.toml").write_text(
        (expired / "pack.toml").read_text().replace("revoked = true", 'expires = "2999-01-01"')
    )
    prov = stream_provenance(cfg, load_pack(expired, check_model=False))
    assert prov.consent_hash.startswith("sha256:") and prov.pack == "pack"
    assert prov.signer is None  # provenance.enabled defaults to false
