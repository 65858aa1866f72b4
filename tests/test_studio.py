"""The default host and studio, judged from pixels: a recording of the default stream is read
back and checked for framing, a stock face detector's verdict, the neck under any pose, and arms
that move toward the product panel when a product is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streamhost.avatar.compositor import Compositor
from streamhost.avatar.driver import FaceDriver
from streamhost.avatar.figure import Figure
from streamhost.avatar.looks import LOOKS, resolve_look
from streamhost.avatar.params import P
from streamhost.avatar.runner import OnnxRenderer
from streamhost.avatar.studio import PanelInfo
from streamhost.frames import Sentence, StreamFormat

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "assets" / "avatar" / "default" / "puppet.onnx"
W, H = 720, 1280
NECK = (slice(488, 506), slice(350, 370))  # between chin and collar at any clipped pose


def _rgb(i420: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(i420, format="yuv420p").to_ndarray(format="rgb24")


def _hands(rgb: np.ndarray, panel_top: int) -> np.ndarray:
    """Mask of the default look's skin below the chest: only hands are skin there."""
    f = rgb.astype(int)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    m = (r > 170) & (r - b > 40) & (g > 130) & (r - g > 15) & (r - g < 70)
    m[:650] = False
    m[panel_top - 6 :] = False  # the panel's orange edge bleeds through 4:2:0 chroma
    return m


def _faces(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return [
        tuple(int(v) for v in b) for b in casc.detectMultiScale(gray, 1.05, 3, minSize=(150, 150))
    ]


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> list[np.ndarray]:
    """Every 5th frame of 16 s of the default stream on the virtual clock."""
    tmp = tmp_path_factory.mktemp("studio")
    out = tmp / "x.mp4"
    env = {**os.environ, "STREAMHOST_DATA_DIR": str(tmp / "data")}
    r = subprocess.run(
        [sys.executable, "-m", "streamhost.cli", "run", "--virtual-clock", "--duration", "16",
         "--record", str(out)],
        capture_output=True, text=True, timeout=400, env=env, cwd=REPO,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    with av.open(str(out)) as c:
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i % 5 == 0]


@pytest.fixture(scope="module")
def plain() -> Compositor:
    """The studio with no figure: what a gap between head and body would show."""
    return Compositor(StreamFormat(W, H))


@pytest.mark.timeout(450)
def test_recorded_host_fills_the_frame_and_is_found_as_a_face(recording, plain) -> None:
    panel_top = plain.panel_box[1]
    found = 0
    for rgb in recording:
        faces = [b for b in _faces(rgb) if 150 < b[1] + b[3] / 2 < 500]
        if faces:
            found += 1
            x, y, w, h = max(faces, key=lambda b: b[2])
            assert w >= 0.30 * W, (x, y, w, h)  # the head is at least 30 % of the width
            assert abs(x + w / 2 - W / 2) < 0.1 * W, (x, y, w, h)
    assert found >= 0.8 * len(recording), (found, len(recording))
    bg = plain.background_rgb.astype(int)
    for rgb in recording[::6]:
        # The body reaches the panel: just above it most of the width is host, not backdrop.
        band = np.abs(
            rgb[panel_top - 80 : panel_top - 8].astype(int) - bg[panel_top - 80 : panel_top - 8]
        )
        assert (band.sum(axis=2) > 40).mean() > 0.45
        # No empty half: below the header, every row of the upper half shows the host
        # (60 px of it at least: the neck is the narrowest part), from the hair down.
        top = np.abs(rgb[170 : H // 2].astype(int) - bg[170 : H // 2]).sum(axis=2) > 40
        assert (top.sum(axis=1) > 60).mean() > 0.95


@pytest.mark.timeout(450)
def test_recorded_neck_never_shows_a_gap(recording, plain) -> None:
    bg = plain.background_rgb.astype(int)
    for i, rgb in enumerate(recording):
        diff = np.abs(rgb[NECK].astype(int) - bg[NECK]).sum(axis=2)
        assert diff.min() > 40, (i, diff.min())


@pytest.mark.timeout(450)
def test_recorded_hands_reach_toward_the_panel_and_rest(recording, plain) -> None:
    """The demo show names products from the first sentence on: some frames point at the panel
    (a hand close above it), and between pitches the hands rest well above it."""
    panel_top = plain.panel_box[1]
    bottoms = []
    for rgb in recording:
        ys, _ = np.nonzero(_hands(rgb, panel_top))
        bottoms.append(ys.max() if len(ys) > 30 else 0)
    assert max(bottoms) >= panel_top - 45, bottoms
    assert min(b for b in bottoms if b) <= panel_top - 90, bottoms


# ---- deterministic checks on composed frames -----------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> OnnxRenderer:
    return OnnxRenderer(MODEL, threads=1)


def _frame(comp: Compositor, r: OnnxRenderer, p: np.ndarray, t: float = 0.0) -> np.ndarray:
    return _rgb(comp.compose(r.render(p[None])[0], params=p, t=t))


def test_naming_a_product_points_a_hand_at_the_panel(renderer) -> None:
    comp = Compositor(StreamFormat(W, H), figure=Figure(LOOKS["ava"]))
    d = FaceDriver(seed=0)
    d.set_look(LOOKS["ava"].params())
    panel_top = comp.panel_box[1]

    def hand_box(t: float) -> tuple[int, int]:
        m = _hands(_frame(comp, renderer, d.params_at(t), t), panel_top)
        ys, xs = np.nonzero(m)
        return int(ys.max()), int(xs.max())

    for k in range(25):
        d.params_at(k / 25)
    rest = hand_box(1.0)
    d.start_speech(
        1.04, [(0.0, 2.0, 2)], Sentence("Our kettle boils fast", "script", product_id="kettle")
    )
    for k in range(27, 50):
        d.params_at(k / 25)
    point = hand_box(2.0)
    assert point[0] > rest[0] + 60, (rest, point)  # down toward the panel
    assert panel_top - point[0] < 45, (panel_top, point)
    # Greeting: open hands, raised above the chest instead.
    d.start_speech(4.0, [(0.0, 1.5, 2)], Sentence("Hello and welcome!", "template"))
    for k in range(50, 131):
        p = d.params_at(k / 25)
    assert p[P.HAND_L_OPEN] > 0.9 and p[P.HAND_R_OPEN] > 0.9
    assert p[P.ARM_R_FORE] > 0.8  # forearms up


def test_gestures_blend_without_jumps() -> None:
    d = FaceDriver(seed=0)
    prev = d.params_at(0.0)
    arms = slice(P.ARM_L_UP, P.HAND_R_POINT + 1)
    for k in range(1, 200):
        if k == 25:
            d.start_speech(
                1.0, [(0.0, 3.0, 2)], Sentence("Look at this lamp", "script", product_id="lamp")
            )
        if k == 120:
            d.start_speech(4.8, [(0.0, 1.0, 2)], Sentence("Thank you!", "thanks"))
        p = d.params_at(k / 25)
        step = np.abs(p[arms] - prev[arms])
        assert step[[0, 1, 4, 5]].max() < 0.1, k  # angles: at most 18 degrees a frame (a jump: 90+)
        assert step[[2, 3, 6, 7]].max() < 0.15, k  # hand shapes cross-fade over several frames
        prev = p


@pytest.mark.parametrize("look", sorted(LOOKS))
def test_no_gap_at_any_tilt_and_looks_differ(renderer, plain, look) -> None:
    comp = Compositor(StreamFormat(W, H), figure=Figure(LOOKS[look]))
    bg = plain.background_rgb.astype(int)
    d = FaceDriver()
    d.set_look(LOOKS[look].params())
    base = d.params_at(0.0)
    for tilt in (-1.0, -0.5, 0.5, 1.0):
        for hx, hy in ((-1, -1), (1, 1), (1, -1), (-1, 1)):
            p = base.copy()
            p[[P.HEAD_TILT, P.HEAD_X, P.HEAD_Y, P.BREATHE]] = (tilt, hx, hy, hy)
            diff = np.abs(_frame(comp, renderer, p)[NECK].astype(int) - bg[NECK]).sum(axis=2)
            assert diff.min() > 40, (look, tilt, hx, hy)


def test_looks_configurable_and_framing_compact(renderer) -> None:
    custom = resolve_look("kai", skin="#8d5524", outfit="#225522")
    assert custom.skin == (0x8D, 0x55, 0x24) and custom.style == 1.0
    with pytest.raises(ValueError, match="#rrggbb"):
        resolve_look("ava", hair="red")
    with pytest.raises(ValueError, match="built-in looks"):
        resolve_look("nobody")
    full, compact = Figure(LOOKS["ava"]), Figure(LOOKS["ava"], "compact")
    assert compact.tile_size[0] < 0.8 * full.tile_size[0]
    body = lambda f: (f.body[..., 3] > 0.5).mean()  # noqa: E731
    assert body(compact) < 0.7 * body(full)
    comp = Compositor(StreamFormat(W, H), figure=compact)
    d = FaceDriver()
    frame = _frame(comp, renderer, d.params_at(0.0))
    assert frame.shape == (H, W, 3)


def test_the_studio_wall_takes_a_shops_colour_and_the_title_stays_readable() -> None:
    from streamhost.config import ConfigError, config_from_dict

    assert config_from_dict({"avatar": {"wall": "#f4e9dc"}}).avatar.wall == "#f4e9dc"
    with pytest.raises(ConfigError, match='avatar.wall = "beige"'):
        config_from_dict({"avatar": {"wall": "beige"}})
    title = (slice(44, 72), slice(140, 300))  # "LIVE SHOP" beside the LIVE badge
    pale = Compositor(StreamFormat(W, H), figure=Figure(LOOKS["ava"]), wall=(244, 233, 220))
    teal = Compositor(StreamFormat(W, H), figure=Figure(LOOKS["ava"]))
    corner = (slice(H // 2, H // 2 + 40), slice(0, 30))  # beside the body, above the panel
    assert np.abs(pale.background_rgb[corner].astype(int) - (244, 233, 220)).max() < 25
    assert teal.background_rgb[corner].astype(int).mean() < 90  # the deep default
    # the title is dark on the pale wall, light on the teal one, and stands out on each
    for c, bright in ((pale, False), (teal, True)):
        ink = c.background_rgb[title].astype(float) @ [0.299, 0.587, 0.114]
        wall = float(np.median(ink))
        assert (ink.max() - wall > 100) if bright else (wall - ink.min() > 100)


def test_panel_shows_picture_struck_price_stock_and_countdown(renderer) -> None:
    comp = Compositor(StreamFormat(W, H), figure=Figure(LOOKS["ava"]), title="Nordlicht Home")
    plain = Compositor(StreamFormat(W, H), figure=Figure(LOOKS["ava"]), title="Nordlicht Home")
    img = str(REPO / "assets" / "catalog" / "images" / "kettle.png")
    comp.set_product("kettle", "€29.90", ["1.7 l"], PanelInfo("€39.90", 25, 7, img, 90.0))
    plain.set_product("kettle", "€29.90", ["1.7 l"])
    px0, py0, px1, py1 = comp.panel_box
    a = comp.background_rgb[py0:py1, px0:px1].astype(int)
    b = plain.background_rgb[py0:py1, px0:px1].astype(int)
    left = np.abs(a[:, :240] - b[:, :240]).sum(axis=2) > 60
    assert left.mean() > 0.1  # the picture
    d = FaceDriver()
    p = d.params_at(0.0)
    tile = renderer.render(p[None])[0]
    f1, f2 = _rgb(comp.compose(tile, params=p, t=10.0)), _rgb(comp.compose(tile, params=p, t=20.5))
    badge = (slice(py0 - 22, py0 + 22), slice(px1 - 320, px1))
    red = lambda f: ((f[..., 0] > 180) & (f[..., 1] < 90)).sum()  # noqa: E731
    assert red(f1[badge]) > 2000  # the countdown badge is there ...
    assert np.abs(f1[badge].astype(int) - f2[badge]).sum() > 0  # ... and counts down
    f3 = _rgb(comp.compose(tile, params=p, t=95.0))
    assert red(f3[badge]) < red(f1[badge]) // 4  # gone after the sale


def test_arm_sprites_blend_in_i420_like_the_float_blend() -> None:
    """The cached I420 sprites (collar, arms) give the frame the per-frame RGBA blend gave:
    at most one code value apart, at antialiased edges only."""
    from streamhost.avatar.compositor import _blend, _blend_sprite
    from streamhost.avatar.gestures import GESTURES

    fig = Figure(LOOKS["kai"], "full")
    fig.keep_rgba = True  # frames blend only the sprites; this test compares them to the floats
    base = np.random.default_rng(3).integers(0, 256, (1920, 720), dtype=np.uint8)
    for name in ("rest", "point", "open", "hold"):
        p = np.zeros(len(P), np.float32)
        left, right = GESTURES[name]
        p[P.ARM_L_UP : P.HAND_R_POINT + 1] = [*left, *right]
        placed = [fig.collar, *fig.arms(p)]
        a, b = base.copy(), base.copy()
        for pl in placed:
            assert pl.sprite is not None
            _blend(a, pl.rgba, pl.x, pl.y)
            _blend_sprite(b, pl.sprite, pl.x, pl.y)
        d = np.abs(a.astype(int) - b)
        assert d.max() <= 1 and d.mean() < 0.005, (name, d.max(), d.mean())


def test_chinese_product_names_are_drawn_with_real_glyphs() -> None:
    """A zh stream's panel and title: each CJK character is drawn, not a missing-glyph box
    (boxes look alike, so two names of as many characters would give the same pixels)."""
    from streamhost.avatar import studio_fonts as cm

    if not any(Path(f).is_file() for f in cm._CJK_FONT_FILES):
        from support import unavailable

        unavailable("a CJK font (Debian fonts-wqy-microhei)")
    tile = np.zeros((4, 400, 368), np.float32)

    def panel(name: str, title: str) -> np.ndarray:
        comp = Compositor(title=title)
        comp.set_product(name, "¥199", ["1.7升"])
        y = comp.compose(tile)[:H]
        return np.concatenate([y[:100], y[int(H * 0.765) :]])

    a, b = panel("电热水壶", "小店直播"), panel("不锈钢杯", "晚间特卖")
    assert (np.abs(a.astype(int) - b.astype(int)) > 60).sum() > 400
    # And a Latin name still uses the Latin font (the CJK one is only for CJK text).
    assert (
        "DejaVu" in cm._font(24, "Kettle").path and cm._font(24, "水壶").path in cm._CJK_FONT_FILES
    )


def test_posed_limb_cache_stays_within_its_byte_budget(monkeypatch) -> None:
    """A gesturing host makes hundreds of new limb poses a minute: the sprite cache evicts the
    least recently used past LIMB_CACHE_BYTES instead of growing to gigabytes."""
    from streamhost.avatar import figure as fm

    monkeypatch.setattr(fm, "LIMB_CACHE_BYTES", 8 * 1024 * 1024)
    fig = fm.Figure(LOOKS["ava"])
    p = np.zeros(len(P), np.float32)
    for k in range(120):  # 120 distinct poses of both arms
        p[P.ARM_L_UP] = p[P.ARM_R_UP] = -0.5 + k / 120
        p[P.ARM_L_FORE] = p[P.ARM_R_FORE] = 0.5 - k / 240
        fig.arms(p)
    sizes = [fm._nbytes(v) for v in fig._cache.values()]
    assert fig._cache_bytes == sum(sizes) <= 8 * 1024 * 1024
    assert 2 < len(sizes) < 120 * 4
    # Frames need only the I420 sprites: no float patch is kept, so a pose costs ~1/4 as much.
    assert all(v[0] is None for v in fig._cache.values())
    assert all(pl.rgba is None and pl.sprite is not None for pl in fig.arms(p))
