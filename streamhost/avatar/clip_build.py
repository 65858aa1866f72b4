"""Clip pack builder: a presenter video (>= 60 s talking, with sound) + consent in; a ``clip``
pack folder out.

Pass 1 tracks the face (468 landmarks per frame, the framing of the first face applied to all)
and reads the audio; frames are labelled with viseme classes (``clip_label``), an idle loop
with a closed mouth is chosen, and one lower-face sample per viseme class (and head-pose
bucket where the video has the variety) is picked. Pass 2 decodes again and keeps only those
frames: samples stabilized on rigid points into the idle loop's first frame, colour-matched to
it, under one feathered mask. The pack holds ``idle.mp4``, ``clip.npz``, ``report.json`` and
``pack.toml`` with the consent record (source SHA-256).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..avatar.driver import _MOUTH_TARGETS
from ..avatar.jaw import JAW_PER_CLASS
from ..voice.visemes import Viseme as V
from . import clip_label as CL
from . import landmarks as L
from .clip_video import grab_frames, read_audio, write_idle
from .colour import lab_stats, match_colour
from .pack import Pack, load_pack
from .packbuild import BuildError, ConsentInfo, check_consent
from .photo_build import check_face, consent_toml, delete_sources, portrait_crop, prepare_out

MIN_SECONDS = 60.0
IDLE_SECONDS = 3.0
MIN_GAP_RANGE = 0.04  # eye distances between a closed and an open mouth: less is not talking
MIN_CLASSES = 3  # viseme classes besides REST that must have a sample
POSE_STEP = 0.08  # yaw per head-pose bucket (half eye distances)
# The OPEN class's sample has this much of the presenter's usual wide opening (their 95th
# percentile = 1); the other classes' samples scale by the jaw opening a real face gives them
# (``jaw.JAW_PER_CLASS``): vowels then read clearly against consonants.
REACH = 1.6
CHECK_EVERY_S = 2.0  # how often every face in the frame is counted
# The lower face: jawline, nose wings and the base of the nose (what a sample replaces).
LOWER_FACE = L.JAW + [98, 327, 2, 164, 206, 426]


def probe(video: Path) -> tuple[float, float]:
    """(seconds, fps) of a video with a sound track; BuildError naming what is wrong."""
    import av

    if not video.is_file():
        raise BuildError(f"video {video}: file not found")
    try:
        with av.open(str(video)) as c:
            if not c.streams.video:
                raise BuildError(f"video {video}: has no video stream")
            if not c.streams.audio:
                raise BuildError(f"video {video}: has no sound track (the presenter must be "
                                 "heard: the sound labels the mouth shapes)")  # fmt: skip
            vs = c.streams.video[0]
            fps = float(vs.average_rate or vs.base_rate or 25)
            secs = c.duration / 1e6 if c.duration else float((vs.duration or 0) * vs.time_base)
    except av.error.FFmpegError as e:
        raise BuildError(f"video {video}: cannot decode ({e})") from None
    if secs < MIN_SECONDS:
        raise BuildError(f"video {video}: {secs:.1f} s is too short; at least {MIN_SECONDS:.0f} s "
                         "of the presenter talking is needed")  # fmt: skip
    return secs, fps


def mouth_darkness(rgb: np.ndarray, mesh: np.ndarray) -> float:
    """Share of the pixels inside the outer lips that are much darker than the skin around
    them: what a viewer reads as an open mouth (the landmarks' lip gap can stay small while
    the cavity shows, and the teeth of a smile are not an opening)."""
    import cv2

    lips = mesh[L.LIPS_OUTER]
    (x0, y0), (x1, y1) = lips.min(0), lips.max(0)
    m = 0.3 * (x1 - x0)
    h, w = rgb.shape[:2]
    bx0, by0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    bx1, by1 = min(w, int(x1 + m) + 1), min(h, int(y1 + m) + 1)
    if bx1 - bx0 < 4 or by1 - by0 < 4:
        return 0.0
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[by0:by1, bx0:bx1]), cv2.COLOR_RGB2GRAY)
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(lips - [bx0, by0]).astype(np.int32)], 1)
    inside = gray[mask > 0]
    skin = float(np.median(gray[mask == 0])) if (mask == 0).any() else 128.0
    return float((inside < 0.45 * skin).mean()) if inside.size else 0.0


def track(video: Path, fm: L.FaceMesh, width: int, height: int, n_est: int, fps: float,
          progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(meshes (N, 468, 2) in canvas pixels, valid (N,), framing (2, 3) source -> canvas,
    mouth darkness (N,))."""
    import av
    from tqdm import tqdm

    meshes, valid, multi, dark, checks = [], [], [], [], 0
    framing: np.ndarray | None = None
    prev: np.ndarray | None = None
    every = max(1, round(CHECK_EVERY_S * fps))
    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        bar = tqdm(total=n_est, desc="tracking", unit="frame", disable=not progress)
        for i, frame in enumerate(c.decode(vs)):
            bar.update()
            rgb = frame.to_ndarray(format="rgb24")
            if framing is None or i % every == 0:
                faces = fm.detect_all(rgb)
                checks += 1
                if len(faces) > 1:
                    multi.append(i)
                    if len(multi) >= 3 and len(multi) > checks // 4:  # not a passer-by: stop
                        raise BuildError(f"video {video}: {len(faces)} faces found (from "
                                         f"{multi[0] / fps:.1f} s); a pack shows exactly one "
                                         "person (crop the video)")  # fmt: skip
                if framing is None and len(faces) == 1:  # framed on the presenter alone
                    f = fm.mesh(rgb, faces[0])
                    check_face(f, f"video {video} at {i / fps:.1f} s")
                    s, x0, y0, _, _ = portrait_crop(rgb.shape, f, width, height)
                    framing = np.array([[s, 0, -x0], [0, s, -y0]], np.float64)
                elif framing is None and i > 10 * fps:
                    raise BuildError(f"video {video}: no face found in the first 10 s (a "
                                     "frontal, well-lit face is needed)")  # fmt: skip
            score = 0.0
            if prev is not None:
                mesh, score = fm.track(rgb, prev)
            if score < 0.5:
                found = fm.detect(rgb)
                if found:
                    f = fm.mesh(rgb, found[0])
                    assert f.mesh is not None
                    mesh, score = f.mesh, f.mesh_score
            ok = score >= 0.5
            prev = mesh if ok else None
            meshes.append(mesh if ok else np.zeros((468, 2)))
            dark.append(mouth_darkness(rgb, mesh) if ok else 0.0)
            valid.append(ok)
        bar.close()
    if framing is None:
        raise BuildError(f"video {video}: no face found (a frontal, well-lit face is needed)")
    if len(multi) > max(1, checks // 4):
        raise BuildError(f"video {video}: more than one face found (from {multi[0] / fps:.1f} "
                         "s); a pack shows exactly one person (crop the video)")  # fmt: skip
    v = np.array(valid)
    if v.mean() < 0.5:
        raise BuildError(f"video {video}: the face was found in only {v.mean():.0%} of the "
                         "frames (keep the face in view, frontal and lit)")  # fmt: skip
    m = np.stack(meshes) @ framing[:, :2].T + framing[:, 2]
    return m, v, framing, np.array(dark)


def stabilizers(meshes: np.ndarray, valid: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(N, 2, 3) similarity per frame mapping its rigid points (eye corners, nose bridge,
    forehead) onto the reference frame's."""
    import cv2

    out = np.tile(np.eye(2, 3), (len(meshes), 1, 1))
    for i in np.nonzero(valid)[0]:
        m, _ = cv2.estimateAffinePartial2D(meshes[i, L.RIGID], ref[L.RIGID], method=cv2.LMEDS)
        if m is not None:
            out[i] = m
    return out


def pick_idle(geo: CL.Geometry, speaking: np.ndarray, valid: np.ndarray, motion: np.ndarray,
              n: int) -> int:  # fmt: skip
    """First frame of the n-frame window that is quietest: mouth closed, silent, still."""
    cost = geo.open + 0.5 * speaking + 4.0 * motion + 10.0 * ~valid
    cs = np.concatenate([[0.0], np.cumsum(cost)])
    win = cs[n:] - cs[:-n]
    # The loop plays back and forth: its two ends should be closed mouths.
    ends = np.maximum(geo.open[: len(win)], geo.open[n - 1 : n - 1 + len(win)])
    return int(np.argmin(win + n * 0.5 * ends))


def pick_samples(labels: np.ndarray, agree: np.ndarray, aligned: bool, geo: CL.Geometry,
                 dark: np.ndarray, buckets: np.ndarray, valid: np.ndarray, motion: np.ndarray
                 ) -> dict[tuple[int, int], int]:  # fmt: skip
    """(viseme, pose bucket) -> frame: the still frame of that class and bucket whose mouth is
    nearest the jaw opening of that class (``jaw.JAW_PER_CLASS``, OPEN at ``REACH`` times
    this presenter's usual wide opening), preferring frames the alignment agrees with. The
    class's median frame would not do: NARROW spans everything from barely parted to half
    open, and a half-open NARROW makes every consonant look like a vowel."""
    out: dict[tuple[int, int], int] = {}
    for v in V:
        if v == V.REST:
            continue  # the idle loop's own mouth
        for b in np.unique(buckets):
            cand = valid & (labels == int(v)) & (buckets == b) & (motion < 0.02)
            if aligned and (cand & agree).sum() >= 3:
                cand &= agree
            idx = np.nonzero(cand)[0]
            if len(idx) < (3 if b == 0 else 6):
                continue
            want = JAW_PER_CLASS[int(v)] / JAW_PER_CLASS[int(V.OPEN)] * REACH
            shape = np.abs(geo.wide[idx] - np.median(geo.wide[idx]))
            cost = np.abs(geo.open[idx] - want) + np.abs(dark[idx] - want) + 0.3 * shape
            out[(int(v), int(b))] = int(idx[np.argmin(cost)])
    return out


def fallbacks(present: set[int]) -> dict[int, int]:
    """Missing class -> the present class whose driver mouth target is nearest."""
    return {
        int(v): min(
            present, key=lambda p: float(np.abs(_MOUTH_TARGETS[p] - _MOUTH_TARGETS[v]).sum())
        )
        for v in V
        if int(v) not in present
    }


def region_and_mask(points: np.ndarray, eye: float, width: int, height: int
                    ) -> tuple[tuple[int, int, int, int], np.ndarray]:  # fmt: skip
    """I420-aligned box around the lower face (all samples' jaws, stabilized) and its feathered
    mask (float32, 1 inside, 0 at the box edge)."""
    import cv2

    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2)
    ctr = hull.mean(0)
    hull = ctr + (hull - ctr) * 1.06
    f = max(4.0, 0.12 * eye)
    x0, y0 = (int(v - f) for v in hull.min(0))
    x1, y1 = (int(v + f) + 1 for v in hull.max(0))
    x0, y0 = max(0, x0) & ~1, max(0, y0) & ~3
    x1 = min(width, x0 + ((x1 - x0 + 1) & ~1))
    y1 = min(height - height % 4, y0 + ((y1 - y0 + 3) & ~3))
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillConvexPoly(mask, np.round((hull - [x0, y0]) * 16).astype(np.int32), 1.0,
                       cv2.LINE_AA, 4)  # fmt: skip
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, int(f / 3)))
    return (x0, y0, x1, y1), cv2.GaussianBlur(mask, (0, 0), f / 3)


def build_clip_pack(
    out: str | Path, *, video: str | Path, consent: ConsentInfo, script: str | Path | None = None,
    width: int = 720, height: int = 1280, delete_source: bool = False, progress: bool = True,
) -> Pack:  # fmt: skip
    """Check the video, track, label, pick the idle loop and samples, write the pack."""
    import cv2

    check_consent(consent)
    if width % 16 or height % 16:
        raise BuildError(f"canvas {width}x{height}: both sides must be multiples of 16")
    src = Path(video)
    secs, fps = probe(src)
    text = None
    if script is not None:
        try:
            text = Path(script).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise BuildError(f"--script {script}: cannot read ({e})") from None
    dst = prepare_out(out)
    fm = L.FaceMesh()
    meshes, valid, framing, dark = track(src, fm, width, height, round(secs * fps), fps, progress)
    n = len(meshes)
    pcm = read_audio(src)
    speaking = CL.speaking_frames(pcm, 16000, n, fps)
    geo = CL.Geometry.of(meshes, valid)
    if geo.gap_range(valid) < MIN_GAP_RANGE:
        raise BuildError(f"video {src}: too little variety of mouth shapes (the lips part by "
                         f"{geo.gap_range(valid):.3f} eye distances, at least {MIN_GAP_RANGE} is "
                         "needed): the presenter must talk clearly, mouth visible")  # fmt: skip
    try:
        rows, how = CL.align(pcm, text)
        ali = CL.frame_visemes(rows, n, fps)
    except (ImportError, RuntimeError, ValueError) as e:
        ali, how = None, f"none ({e}); labels from geometry only"
    labels, agree = CL.combine(CL.geometry_labels(geo, speaking), ali, geo)
    yaw = np.array([L.yaw_roll(m)[0] if ok else 0.0 for m, ok in zip(meshes, valid, strict=True)])
    eye = float(np.median(np.linalg.norm(meshes[valid][:, 263] - meshes[valid][:, 33], axis=1)))
    rigid_c = meshes[:, L.RIGID].mean(1)
    motion = np.r_[0.0, np.linalg.norm(np.diff(rigid_c, axis=0), axis=1)] / max(eye, 1e-6)
    motion[~valid] = 1.0
    n_idle = min(n, round(IDLE_SECONDS * fps))
    i0 = pick_idle(geo, speaking, valid, motion, n_idle)
    ref = meshes[i0]
    stab = stabilizers(meshes, valid, ref)
    centre = float(np.median(yaw[valid]))
    buckets = np.clip(np.round((yaw - centre) / POSE_STEP), -1, 1).astype(np.int64)
    lo, hi = np.percentile(dark[valid], [5, 95])
    dark_n = np.clip((dark - lo) / max(hi - lo, 1e-6), 0.0, 1.5)
    chosen = pick_samples(labels, agree, ali is not None, geo, dark_n, buckets, valid, motion)
    present = {int(V.REST)} | {v for v, _ in chosen}
    if int(V.OPEN) not in present or len(present) - 1 < MIN_CLASSES:
        raise BuildError(f"video {src}: too little variety of mouth shapes (samples for "
                         f"{', '.join(V(v).name for v in sorted(present))}; OPEN and at least "
                         f"{MIN_CLASSES} classes besides REST are needed): the presenter must "
                         "talk naturally for the whole video")  # fmt: skip
    pts = [ref[LOWER_FACE]] + [
        meshes[j, LOWER_FACE] @ stab[j, :, :2].T + stab[j, :, 2] for j in chosen.values()
    ]
    (x0, y0, x1, y1), mask = region_and_mask(np.concatenate(pts), eye, width, height)
    idle_idx = list(range(i0, i0 + n_idle))
    frames = grab_frames(src, set(idle_idx) | set(chosen.values()), framing, width, height,
                         progress)  # fmt: skip
    shift = np.array([[0, 0, x0], [0, 0, y0]], np.float64)
    ref_patch = frames[i0][y0:y1, x0:x1]
    ref_lab = lab_stats(ref_patch, mask)
    keys = [(int(V.REST), 0)] + sorted(chosen)
    patches = [ref_patch]
    for key in keys[1:]:
        j = chosen[key]
        p = cv2.warpAffine(frames[j], stab[j] - shift, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        patches.append(match_colour(p, lab_stats(p, mask), ref_lab))
    idle_aff = np.stack([cv2.invertAffineTransform(stab[i]) for i in idle_idx])
    dst.mkdir(parents=True, exist_ok=True)
    write_idle(dst / "idle.mp4", [frames[i] for i in idle_idx], fps)
    np.savez_compressed(
        dst / "clip.npz", region=np.array([x0, y0, x1, y1]), mask=mask, patches=np.stack(patches),
        classes=np.array([k[0] for k in keys]), buckets=np.array([k[1] for k in keys]),
        idle_affine=idle_aff.astype(np.float32), idle_bucket=buckets[idle_idx],
        ref_mesh=ref.astype(np.float32),
    )  # fmt: skip
    per_class: dict[int, int] = {}
    for v, _ in keys:
        per_class[v] = per_class.get(v, 0) + 1
    fb = fallbacks(present)
    report = {
        "source_seconds": round(n / fps, 2), "fps": fps, "alignment": how,
        "idle_loop": [round(i0 / fps, 2), round((i0 + n_idle) / fps, 2)],
        "pose_buckets": sorted({int(b) for _, b in keys}), "frames_tracked": int(valid.sum()),
        "coverage": CL.coverage_table(labels, agree, per_class, fb, ali is not None),
    }  # fmt: skip
    (dst / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (dst / "pack.toml").write_text(
        f"""# Built by `streamhost avatar build --family clip` from {src.name}.
family = "clip"
driver = "phonemes"
base = "idle.mp4"            # the idle loop (closed mouth), played back and forth
samples = "clip.npz"         # lower-face samples per viseme class, mask, stabilization

[canvas]
width = {width}
height = {height}

[clip]
fps = {round(fps)}
fallback = {{ {", ".join(f"{V(k).name} = {json.dumps(V(v).name)}" for k, v in fb.items())} }}

{consent_toml(consent, [src])}""",
        encoding="utf-8",
    )
    pack = load_pack(dst)
    if delete_source:
        delete_sources([src])
    return pack


def format_report(pack_dir: Path) -> str:
    """The coverage table of a built pack (``report.json``) as text for the terminal."""
    r = json.loads((pack_dir / "report.json").read_text(encoding="utf-8"))
    lines = [f"alignment: {r['alignment']}",
             f"idle loop: {r['idle_loop'][0]}-{r['idle_loop'][1]} s; pose buckets "
             f"{r['pose_buckets']}; face tracked in {r['frames_tracked']} frames",
             "viseme   frames  samples  aligned-agree  shown-as"]  # fmt: skip
    for row in r["coverage"]:
        agree = row.get("aligned_agree")
        lines.append(f"{row['viseme']:<8} {row['frames']:>6}  {row['samples']:>7}  "
                     f"{'-' if agree is None else f'{agree:.0%}':>13}  {row.get('shown_as', '')}")  # fmt: skip
    return "\n".join(lines)
