"""face_detect.py: frames written by one environment are scored by another, a row per look and
detector that ran, and a detector that cannot be imported is named, never scored as zero."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import load_bench

fd = load_bench("face_detect")


def test_frames_written_then_scored(tmp_path: Path) -> None:
    fd.main(["--write-frames", str(tmp_path / "looks"), "--count", "3", "--seeds", "1,2"])
    assert sorted(p.name for p in (tmp_path / "looks").iterdir() if p.is_dir()) == sorted(fd.LOOKS)
    assert len(list((tmp_path / "looks" / "ava").glob("*.png"))) == 6  # two takes of 3

    out = tmp_path / "fd.json"
    fd.main(["--frames", str(tmp_path / "looks"), "--json", str(out)])
    doc = json.loads(out.read_text())
    rows = {r["name"]: r["value"] for r in doc["results"]}
    ran = doc["config"]["detectors"]
    assert {"haar_default", "haar_alt2"} <= set(ran)
    assert doc["config"]["frames_per_look"] == 6
    # what was rendered is said by the scoring run, which was not told it
    assert (doc["config"]["frames_per_take"], doc["config"]["seeds"]) == (3, [1, 2])
    for look in fd.LOOKS:
        for name in ran:
            assert 0 <= rows[f"{look}_{name}_found"] <= 100
            assert doc["config"]["targets"][f"{look}_{name}_found"] == ">= 95"
    for missing in doc["config"]["missing"]:
        assert not any(k.split("_", 1)[1].startswith(missing.split()[0]) for k in rows)
    # the default look is found in most of its frames by the cascade the tests use
    assert rows["ava_haar_default_found"] >= 80


def test_missing_frames_are_named(tmp_path: Path) -> None:
    (tmp_path / "ava").mkdir()
    try:
        fd.main(["--frames", str(tmp_path)])
    except SystemExit as exc:
        assert "ava: no frames" in str(exc)
    else:
        raise AssertionError("scoring an empty folder must stop with a message")
