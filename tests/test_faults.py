"""Fault injection against real peers (issue #19): the fast cases. benchmarks/faults.py runs
the whole night of them (30 s freezes, 50 kill -9 trials, netem) and reports the figures.

Each case injects one fault into a running engine and checks that it recovers, by what a real
receiver got: nginx-rtmp read back with PyAV, an aiortc WebRTC viewer, the MP4 recording
decoded frame by frame, the SQLite store reopened. Shared machinery: tests/faults_rig.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from conftest import running_engine
from faults_rig import (
    AlertLog,
    RtmpReader,
    check_pictures,
    fill_disk,
    freeze,
    gaps,
    kill9_trial,
    kill_server,
    mount_works,
    network_child,
    recording,
    small_disk,
)
from ircd import IrcServer, require_ngircd
from nginx_rtmp import NginxRtmp
from support import unavailable, until
from test_chat_twitch import IrcClient
from viewer import Viewer

from streamhost.store import Store

KILL_S = 8.0  # longer than the 5 s after which an RTMP outage raises rtmp_down
FREEZE_S = 8.0  # the benchmark freezes for 30 s


# -- 1. the RTMP server killed and restarted, then frozen -------------------------------------


@pytest.mark.timeout(120)
async def test_rtmp_server_killed_restarted_and_frozen(tmp_path: Path) -> None:
    """Kill -9 nginx-rtmp for 7 s and restart it; then SIGSTOP it for 8 s. Each time the stream
    is back on the server within 2 s of it answering again, with monotonic timestamps; the
    recording and a WebRTC viewer never notice; rtmp_down is raised and rtmp_up clears it."""
    rec = tmp_path / "rec.mp4"
    srv = NginxRtmp().start()
    url = srv.url(stream="faults")
    reader = RtmpReader(url)
    viewer = Viewer()
    try:
        async with running_engine(
            tmp_path, False, None, output={"rtmp": [url], "record": str(rec)}
        ) as (eng, base, task):
            s = eng.primary
            alerts = AlertLog(s.events)
            pusher = s.rtmp[0]
            await until(lambda: pusher.state == "live" or task.done(), 20, "RTMP live")
            reader.start()
            async with aiohttp.ClientSession() as http:
                await viewer.connect(http, base + "/offer")
            # Opening an RTMP read and a WebRTC session takes seconds on a loaded 2-core box.
            await until(lambda: len(reader.video()) > 25 and bool(viewer.video), 40, "first frames")
            t_fault = time.monotonic()

            kill_server(srv)
            await asyncio.sleep(KILL_S)
            srv.start()
            t_up, media_up = time.monotonic(), eng.clock.now()
            await until(lambda: reader.recovery_s(t_up, media_up) is not None, 10, "stream back")
            restart_s = reader.recovery_s(t_up, media_up)
            await until(lambda: alerts.has("rtmp_up"), 5, f"rtmp_up after {alerts.kinds()}")

            freeze(srv, True)
            await asyncio.sleep(FREEZE_S)
            freeze(srv, False)
            t_thaw, media_thaw = time.monotonic(), eng.clock.now()
            await until(lambda: reader.recovery_s(t_thaw, media_thaw) is not None, 10, "back")
            thaw_s = reader.recovery_s(t_thaw, media_thaw)
            await asyncio.sleep(1.0)
            t_end = time.monotonic()
            frames = s.loop.stats.frames
            assert not task.done()
            stats = pusher.stats()
    finally:
        reader.stop()
        await viewer.close()
        srv.stop()

    print(f"recovery after restart {restart_s:.3f} s, after thaw {thaw_s:.3f} s; {stats}")
    assert restart_s is not None and restart_s <= 2.0, restart_s
    assert thaw_s is not None and thaw_s <= 2.0, thaw_s
    assert reader.backwards() == [], reader.backwards()[:5]
    kinds = alerts.kinds("rtmp_down", "rtmp_up")
    assert kinds[:2] == ["rtmp_down", "rtmp_up"], kinds
    # the WebRTC viewer and the recording run on through both outages
    assert gaps([t for t, *_ in viewer.video], t_fault, t_end) < 0.5
    pics = check_pictures(recording(rec))
    assert pics.error == "" and pics.frames >= frames - 5, (pics, frames)
    assert pics.max_gap_s <= 0.08 and pics.black_or_frozen == 0, pics


# -- 2. the voice and the renderer raising and hanging ----------------------------------------


@pytest.mark.timeout(90)
async def test_voice_and_renderer_raise_and_hang(tmp_path: Path) -> None:
    """The voice raises on its 2nd sentence and hangs on its 4th; the renderer raises for 10
    frames and hangs for 0.5 s. The host idles through each (frames keep coming, never black,
    never frozen for a second), each stage is restarted with an alert, and the host speaks
    again after each fault."""
    rec = tmp_path / "rec.mp4"
    async with running_engine(tmp_path, False, 12, output={"record": str(rec)}) as (eng, _, task):
        s = eng.primary
        alerts = AlertLog(s.events)
        s.director.voice_timeout_s = 1.0
        s.loop.render_deadline_s = 0.2
        real_speak, calls, spoke_after = s.tts.speak, [0], {}

        async def faulty_speak(sentence):
            calls[0] += 1
            if calls[0] == 2:
                raise RuntimeError("voice exploded")
            if calls[0] == 4:
                spoke_after["hang"] = eng.clock.now()
                await asyncio.sleep(3600)  # a hung synthesis: only the deadline ends it
            return await real_speak(sentence)

        real_face = s.face
        hang_at = 5.0 * 25

        class FaultyFace:
            def __getattr__(self, name):
                return getattr(real_face, name)

            def picture(self, t: float):
                i = round(t * 25)
                if 60 <= i < 70:
                    raise RuntimeError("renderer exploded")
                if i == hang_at:
                    time.sleep(0.5)  # a hung inference: the deadline sends the last picture
                return real_face.picture(t)

        s.tts.speak = faulty_speak
        s.face = FaultyFace()
        await task
    st = s.loop.stats
    restarts = [(e["stage"], e["error"][:40]) for e in alerts.seen if e["kind"] == "stage_restart"]
    print(f"restarts {restarts}; render faults {st.render_faults}, hung {st.render_hung}")
    assert s.supervisor.restarts.get("director") == 2, s.supervisor.restarts
    stages = [stage for stage, _ in restarts]
    assert stages.count("director") == 2, restarts
    # The injected raise and hang each restart the renderer once. On the loaded 2-core CI
    # machine a real render can also stall past the 0.2 s deadline (seen once: t=1.44 s);
    # it is handled the same way, so one more timeout is allowed, not more.
    render = [e for stage, e in restarts if stage == "render"]
    assert sum("renderer exploded" in e for e in render) == 1, restarts
    assert 1 <= sum("TimeoutError" in e for e in render) <= 2 and len(render) <= 3, restarts
    assert 1 <= st.render_hung <= 2 and 10 <= st.render_faults <= 30, st
    # the host spoke again after the hung voice was given up
    store = Store(tmp_path / "data", "default")
    aired = [ln.aired_at for ln in store.transcript() if ln.aired_at is not None]
    store.close()
    assert any(t > spoke_after["hang"] + 1.0 for t in aired), (spoke_after, aired)
    pics = check_pictures(recording(rec))
    assert pics.error == "" and pics.frames >= 12 * 25 - 30, pics
    assert pics.max_gap_s <= 0.08 and pics.black_or_frozen == 0, pics


# -- 3. kill -9 at random moments --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill9_loses_no_aired_sentence(tmp_path: Path) -> None:
    """5 trials of ``streamhost run`` SIGKILLed 0.5-4 s after its stream reached nginx-rtmp:
    every sentence a receiver saw on the wire (the bench tag of its trace id) is in the
    transcript, the store passes integrity_check, the fragmented recording plays."""
    rng = random.Random(19)
    with NginxRtmp() as srv:
        trials = [
            kill9_trial(
                srv.url(stream=f"k{i}"), tmp_path / f"t{i}", rng.uniform(0.5, 4.0), sys.executable
            )  # fmt: skip
            for i in range(5)
        ]
    print(trials)
    assert all(t["went_live"] for t in trials), trials
    assert sum(t["wire_sentences"] for t in trials) >= 3, trials  # the check saw speech
    assert [t["lost"] for t in trials] == [0] * 5, trials
    assert {t["integrity"] for t in trials} == {"ok"}, trials
    assert all(t["record_frames"] >= 25 for t in trials), trials


# -- 4. the disk full under the recording and the store ---------------------------------------


@pytest.mark.timeout(120)
async def test_disk_full_keeps_stream_on_air_and_resumes(tmp_path: Path) -> None:
    """The recording (fragmented) and the store share a 32 MB tmpfs, filled to the last byte
    for 4 s and then given back. A WebRTC viewer never notices; ``write_failed`` names what is
    lost (the recording, rows of the store), ``write_resumed`` follows once space is back;
    recording resumes in a new segment that plays, the store passes integrity_check and holds
    the alerts (kept back while full) and sentences committed after the disk came back."""
    if not mount_works():
        unavailable("mounting a tmpfs (root)")
    viewer = Viewer()
    with small_disk(tmp_path / "disk", 32) as disk:
        rec = disk / "rec.mp4"
        output = {"record": str(rec), "record_fragmented": True}
        try:
            async with running_engine(disk, False, None, output=output) as (eng, base, task):
                s = eng.primary
                alerts = AlertLog(s.events)
                async with aiohttp.ClientSession() as http:
                    await viewer.connect(http, base + "/offer")
                await until(lambda: bool(viewer.video) and s.obs.sentences > 0, 20, "on air")
                await asyncio.sleep(2.0)
                t_fault, media_full = time.monotonic(), eng.clock.now()
                ballast = fill_disk(disk)
                failed = {"recording", "store"}
                await until(lambda: failed <= _whats(alerts, "write_failed"), 20,
                            f"write_failed for both, saw {alerts.kinds()}")  # fmt: skip
                await asyncio.sleep(4.0)
                assert not _whats(alerts, "write_resumed"), alerts.seen
                ballast.unlink()
                t_back, said_before = eng.clock.now(), s.obs.sentences
                await until(lambda: failed <= _whats(alerts, "write_resumed"), 20,
                            f"write_resumed for both, saw {alerts.kinds()}")  # fmt: skip
                await until(lambda: s.obs.sentences > said_before + 1, 20, "the host speaks on")
                await asyncio.sleep(1.0)
                t_end = time.monotonic()
                assert not task.done()
                lost = dict(s.store.lost)
        finally:
            await viewer.close()
        seen = alerts.seen
        segs = recording(rec)
        last = check_pictures(segs[-1:])
        pics = check_pictures(segs)
        store = Store(disk / "data", "default")
        integrity = store._db.execute("PRAGMA integrity_check").fetchone()[0]
        stored = [k for (k,) in store._db.execute("SELECT kind FROM alerts ORDER BY id")]
        aired_after = [ln for ln in store.transcript() if ln.media_time > t_back]
        store.close()
    failed_rec = next(e for e in seen if e["kind"] == "write_failed" and e["what"] == "recording")
    resumed = {e["what"]: e for e in seen if e["kind"] == "write_resumed"}
    print(f"lost {lost}; recording lost {resumed['recording']['lost_s']} s; segments "
          f"{[p.name for p in segs]}; {pics}; stored alerts {stored}")  # fmt: skip
    # on air throughout: the viewer's longest gap is a frame or two, not the outage
    assert gaps([t for t, *_ in viewer.video], t_fault, t_end) < 0.5
    assert "recording from media" in failed_rec["lost"], failed_rec
    assert "No space" in failed_rec["error"], failed_rec  # ENOSPC, not some other failure
    assert sum(lost.values()) > 0 and resumed["store"]["lost_rows"], (lost, resumed)
    # the recording: a new segment after the outage that plays to its end, none black
    assert len(segs) >= 2 and last.error == "" and last.frames >= 25, (segs, last)
    assert pics.black == 0, pics
    # what was not recorded is the outage (media time): from the first failed fragment (up to
    # a 1 s fragment after the fill) to the new segment (a retry and a keyframe after space)
    outage = t_back - media_full
    assert outage - 1.5 <= resumed["recording"]["lost_s"] <= outage + 3.0, (outage, resumed)
    # the store: sound, with what was said and raised after the disk came back
    assert integrity == "ok"
    assert {"write_failed", "write_resumed"} <= set(stored), stored
    assert aired_after, "no sentence stored after the disk came back"


def _whats(alerts: AlertLog, kind: str) -> set[str]:
    return {e["what"] for e in alerts.seen if e["kind"] == kind}


# -- 5. a chat source dropped mid-stream, and a server answering garbage ----------------------


class GarbageServer:
    """A misbehaving peer on TCP: each connection gets seeded junk (binary, broken IRC lines,
    an over-long line) and is closed on the even connections, trickled junk forever on the odd
    ones (a server that never lets the client join). Out: each connection's start time."""

    def __init__(self, seed: int = 19) -> None:
        self.rng = random.Random(seed)
        self.conns: list[float] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> GarbageServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _junk(self) -> bytes:
        r = self.rng
        pieces = [r.randbytes(r.randint(1, 300)), b":\xff\xfe PRIVMSG\r\n", b"@=;; :\r\n",
                  b"001\r\n", b"x" * 9000 + b"\r\n", b"\0\0\0\n", b":a!a@a PRIVMSG\r\n"]  # fmt: skip
        return b"".join(r.choice(pieces) for _ in range(20))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = len(self.conns)
        self.conns.append(time.monotonic())
        self._writers.append(writer)
        try:
            writer.write(self._junk())
            await writer.drain()
            while n % 2:
                with contextlib.suppress(TimeoutError):
                    if not await asyncio.wait_for(reader.read(4096), 0.1):
                        break  # the client gave up on us: what a client should do
                writer.write(self._junk())
                await writer.drain()
        except OSError:
            pass  # reset by the client
        finally:
            writer.close()

    async def close(self) -> None:
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.mark.timeout(120)
async def test_chat_source_dropped_and_garbage_server(tmp_path: Path) -> None:
    """Two Twitch-IRC sources in a running engine: one on a real ngircd that is SIGKILLed
    for 4 s and restarted, one on a server answering garbage. The stream never stops; the
    dropped source backs off (a handful of attempts in 4 s, not hundreds), shows it in its
    health, is live again within the backoff after the restart, and every message sent while
    it was live is in the store (IRC has no replay: what is said while the server is down is
    lost to every client, so nothing more can be resumed). The garbage server's input is
    rejected, never emitted, and it is retried with growing delays."""
    require_ngircd()
    srv = IrcServer(tmp_path / "ircd").start()
    junk = await GarbageServer().start()
    sources = [
        {"type": "twitch", "channel": "shop", "host": "127.0.0.1", "port": srv.port},
        {"type": "twitch", "channel": "shop", "host": "127.0.0.1", "port": junk.port},
    ]
    sent: list[str] = []
    try:
        async with running_engine(tmp_path, False, None, chat={"sources": sources}) as (
            eng, _, task,
        ):  # fmt: skip
            s = eng.primary
            irc, bad = s.sources
            bad.connect_timeout_s = 1.0  # the join deadline: short, so the test sees retries
            delays: list[float] = []  # what the garbage source chose to wait, in order
            pick = bad.backoff.next
            bad.backoff.next = lambda: delays.append(pick()) or delays[-1]  # type: ignore[method-assign]
            await until(lambda: irc.health.state == "live", 15, "IRC source live")
            viewer = await IrcClient(srv.port, "ann").connect("#shop")
            sent += [f"before drop {i}" for i in range(10)]
            viewer.send(*(f"PRIVMSG #shop :{m}" for m in sent))
            await until(lambda: irc.health.events >= 10, 10, "messages before the drop")
            frames0, t0 = s.loop.stats.frames, time.monotonic()

            assert srv.proc is not None
            srv.proc.kill()  # SIGKILL: no QUIT, no ERROR line, the socket just dies
            srv.proc.wait(5)
            await asyncio.sleep(4.0)
            during = dict(irc.health.as_dict())
            srv.start()
            t_up = time.monotonic()
            await until(lambda: irc.health.state == "live", 15, "IRC source live again")
            back_s = time.monotonic() - t_up
            viewer = await IrcClient(srv.port, "ann2").connect("#shop")
            after = [f"after restart {i}" for i in range(10)]
            sent += after
            viewer.send(*(f"PRIVMSG #shop :{m}" for m in after))
            await until(lambda: irc.health.events >= 20, 10, "messages after the restart")
            await until(lambda: len(junk.conns) >= 4, 20, "garbage server retried")
            assert not task.done()
            frames, elapsed = s.loop.stats.frames, time.monotonic() - t0
            snap = s.snapshot()["chat_sources"]
            await viewer.close()

            def stored_rows() -> list[str]:
                s.store.flush()
                return [r[2] for r in s.store.chat_rows()]

            # The source counts a message when it reads it; the store has it once the engine's
            # inlet has taken it in: wait for that too (a loss still times out and fails).
            await until(lambda: all(m in stored_rows() for m in sent), 10, "messages stored")
            stored = stored_rows()
    finally:
        await junk.close()
        srv.stop()
    gaps_s = [b - a for a, b in zip(junk.conns, junk.conns[1:], strict=False)]
    print(f"during the drop {during}; live again {back_s:.2f} s after the restart; "
          f"garbage connections {len(junk.conns)}, gaps {[round(g, 2) for g in gaps_s]}; "
          f"garbage source {snap[1]}, delays {[round(d, 2) for d in delays]}")  # fmt: skip
    # on air throughout the drop and the garbage (half the frame rate: the 2-core CI is shared)
    assert frames - frames0 >= 0.5 * 25 * elapsed, (frames - frames0, elapsed)
    # the drop: seen, backed off (0.25-0.5 s, then doubling: <= 5 tries in 4 s), resumed
    assert during["state"] in ("backoff", "connecting") and during["last_error"], during
    assert 2 <= during["reconnects"] <= 6, during
    assert back_s <= 8.5, back_s  # within the delay it had reached (<= 8 s after 4 s down)
    assert snap[0]["state"] == "live" and snap[0]["connects"] == 2, snap[0]
    assert [m for m in stored if m in sent] == sent, stored
    # the garbage: rejected, never an event, never live, retried with backoff
    assert snap[1]["events"] == 0 and snap[1]["connects"] == 0 and snap[1]["rejected"] > 0
    assert snap[1]["state"] in ("backoff", "connecting") and snap[1]["reconnects"] >= 3, snap[1]
    # each retry waited the delay it chose (a gap is that wait plus the attempt before it,
    # which a busy machine stretches), and the delays double under their jitter: two
    # apart, the later is at least twice the earlier whatever the jitter drew
    assert all(g >= d - 0.05 for g, d in zip(gaps_s, delays, strict=False)), (gaps_s, delays)
    assert min(gaps_s) >= 0.2 and len(delays) >= 3, (gaps_s, delays)
    assert all(b >= 2 * a for a, b in zip(delays, delays[2:], strict=False)), delays


# -- 6. the network blacked out (a namespace of its own) --------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_network_squeeze_and_blackout_recover(tmp_path: Path) -> None:
    """benchmarks/faults.py's network child, against an nginx-rtmp that drops an idle
    publisher after 5 s (see the README: without it a 10 s blackout leaves a stale publish for
    nginx's 60 s timeout): a 5 s squeeze below the bitrate, then 10 s with the link down. The
    RTMP queue fills to its bound and drops the oldest rather than growing, the stream stays
    on air, and a player gets new packets within 3 s of the link coming back."""
    net, missing = network_child(tmp_path / "net.json", 5.0, 10.0, drop_idle_s=5.0)
    if not net:
        unavailable(f"a network namespace: {missing}")
    print(net, missing)
    stats = net["stats"]
    assert net["on_air"], net
    assert net["peak"]["blackout"] == net["limit"] and stats["packets_dropped"] > 0, net
    assert net["recovery_s"] is not None and net["recovery_s"] <= 3.0, net
    assert net["backwards"] == 0 and stats["state"] == "live", net
