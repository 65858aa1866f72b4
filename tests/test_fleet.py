"""The fleet: config checks and GPU packing (no Ray), a stream resuming its show from its store
(no Ray), and 4 light streams on a 3-node local Ray cluster: placement, the front (status,
metrics, SD file, index, a control socket through the proxy), a killed process restarted and
resumed, a removed node drained, and a clean stop that finalizes recordings."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from support import unavailable

from streamhost.config import load_config
from streamhost.fleet.config import StreamSpec, fleet_from_dict
from streamhost.fleet.placement import GpuPacker, resources_for
from streamhost.problems import ConfigError
from streamhost.store import Store, open_read_only

try:
    import ray
    from ray.cluster_utils import Cluster
except ImportError:  # the fleet extra
    ray = None  # type: ignore[assignment]

# Light streams: the smallest canvas the default host fits (its head tile is 368x400 at
# (176, 140)), the lowest frame rate, espeak (fast to load), no WebRTC.
LIGHT = {"stream": {"width": 544, "height": 544, "fps": 20},
         "output": {"webrtc": False, "video_bitrate_kbps": 300},
         "voice": {"engine": "espeak", "prefetch": False, "cache_mb": 0}}  # fmt: skip
OBJECT_STORE = 80 * 2**20
RAY_TIMEOUT_S = 60


def test_fleet_config_names_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        fleet_from_dict({"fleet": {"address": "nowhere", "cpus_per_stream": 0, "colour": 1},
                         "front": {"port": -1},
                         "stream": [{"name": "a b"}, {"config": "x.toml"},
                                    {"name": "ok", "overrides": {"stream": {"fps": 7}}}]})  # fmt: skip
    text = str(e.value)
    for part in ("fleet.address = 'nowhere'", "fleet.cpus_per_stream = 0", "fleet.colour",
                 "front.port = -1", "stream[0].name = 'a b'", "stream[1].name: missing",
                 "stream[2] (ok): stream.fps = 7"):  # fmt: skip
        assert part in text, text
    fc = fleet_from_dict({"fleet": {"data_dir": "d"}, "stream": [{"name": "a", "cpus": 0.25}]},
                         base=tmp_path)  # fmt: skip
    assert fc.data_dir == str(tmp_path / "d") and fc.streams[0].cpus == 0.25


def test_gpu_streams_sharing_a_model_pack_onto_one_device() -> None:
    gpu_cfg = load_config().with_overrides(avatar={"providers": ["CUDAExecutionProvider",
                                                                 "CPUExecutionProvider"]})  # fmt: skip
    r = resources_for(StreamSpec("a"), gpu_cfg, default_cpus=0.5, per_device=4)
    assert (r.cpus, r.gpus) == (0.5, 0.25)
    cpu = resources_for(StreamSpec("b", cpus=2.0), load_config(), 0.5, 4)
    assert (cpu.cpus, cpu.gpus) == (2.0, 0.0)
    packer = GpuPacker(per_device=2)
    groups = [packer.assign(n, m) for n, m in
              (("a", "pack1"), ("b", "pack1"), ("c", "pack2"), ("d", "pack1"))]  # fmt: skip
    assert [(g.key, new) for g, new in groups] == [
        ("gpu-1", True),
        ("gpu-1", False),
        ("gpu-2", True),
        ("gpu-3", True),
    ]
    assert packer.release("a") is None and packer.release("b").key == "gpu-1"  # type: ignore[union-attr]
    assert packer.assign("e", "pack2") == (packer.groups["gpu-2"], False)


def test_a_fleet_stream_trusts_the_front_for_forwarded_addresses(tmp_path: Path) -> None:
    """Behind the front every viewer arrives from the front's address: the stream must read
    X-Forwarded-For from there (and only there), or its per-address limits count one client."""
    from streamhost.fleet.actor import stream_config

    spec = _spec(tmp_path, "s1", 10.0, 0.0)
    spec["overrides"] = {**LIGHT, "http": {"trusted_proxies": ["10.0.0.0/8"]}}
    spec["front_ips"] = ["127.0.0.1", "192.168.5.7"]
    cfg = stream_config(spec, "127.0.0.1", resume=False)
    assert cfg.http.trusted_proxies == ["10.0.0.0/8", "127.0.0.1", "192.168.5.7"]
    assert (cfg.http.host, cfg.http.port) == ("127.0.0.1", 0)
    del spec["front_ips"]
    spec["overrides"] = LIGHT
    assert stream_config(spec, "127.0.0.1", resume=False).http.trusted_proxies == []


def _spec(tmp_path: Path, name: str, duration: float, run_started: float) -> dict:
    return {"name": name, "config": "", "overrides": LIGHT, "token": "t" * 24,
            "data_dir": str(tmp_path / "data"), "cpus": 1.0, "run_started": run_started,
            "virtual_clock": True, "duration_s": duration, "stream_host": "127.0.0.1"}  # fmt: skip


async def test_restarted_stream_resumes_its_show_and_records_the_gap(tmp_path: Path) -> None:
    from streamhost.fleet.actor import StreamActor

    started = time.time()
    first = StreamActor(_spec(tmp_path, "shop", 2.0, started))
    await asyncio.wait_for(first._task, 120)
    assert first.state == "stopped" and first.resumed is None, first.error
    said = Store(tmp_path / "data", "shop").transcript(started)
    assert said, "the first run said nothing"
    second = StreamActor(_spec(tmp_path, "shop", 3.0, started))  # what Ray does on a restart
    await asyncio.wait_for(second._task, 120)
    st = await second.status()
    assert st["state"] == "stopped", st["error"]
    at = st["resumed"]["at"]
    assert at == pytest.approx(said[-1].media_time, abs=0.05) and st["resumed"]["gap_s"] >= 0
    assert st["media_time"] == pytest.approx(3.0, abs=0.1)  # the show's length, not 3 s more
    assert st["frames"] == round((3.0 - at) * 20)
    assert [a["kind"] for a in st["alerts"]].count("stream_resumed") == 1
    later = Store(tmp_path / "data", "shop").transcript(started)[len(said) :]
    assert later and all(line.media_time >= at for line in later)
    db = open_read_only(tmp_path / "data" / "shop.sqlite")
    rows = db.execute("SELECT actor, media_time FROM audit WHERE command='resume'").fetchall()
    assert rows == [("fleet", at)]


# ---- on a 3-node local Ray cluster ----
@pytest.fixture(scope="module")
def fleet_env(tmp_path_factory: pytest.TempPathFactory):
    if ray is None:
        unavailable("ray (the fleet extra)")
    from streamhost.fleet.manager import Fleet

    tmp = tmp_path_factory.mktemp("fleet")
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "object_store_memory": OBJECT_STORE, "include_dashboard": False})  # fmt: skip
    workers = [cluster.add_node(num_cpus=2, object_store_memory=OBJECT_STORE) for _ in range(2)]
    ray.init(address=cluster.address, namespace="test-fleet", log_to_driver=False)
    rec = {"output": {**LIGHT["output"], "record": str(tmp / "rec" / "s3.mp4")}}
    fc = fleet_from_dict({
        "fleet": {"address": cluster.address, "data_dir": str(tmp / "data"), "cpus_per_stream": 1.0},
        "stream": [{"name": f"s{i}", "overrides": {**LIGHT, **(rec if i == 3 else {})}}
                   for i in range(4)],
    })  # fmt: skip
    fleet = Fleet(fc)
    fleet.start()
    asyncio.run(_until_running(fleet, 120))
    try:
        yield fleet, cluster, workers, tmp
    finally:
        if fleet.members:
            asyncio.run(fleet.down(20))
        ray.shutdown()
        cluster.shutdown()


async def _until_running(fleet, timeout: float, check=lambda rows: True) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        await fleet.poll()
        rows = fleet.status()
        if all(r["state"] == "running" and r["frames"] > 0 for r in rows) and check(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"fleet not running after {timeout} s: {rows}")
        await asyncio.sleep(0.3)


async def test_placement_and_the_front(fleet_env) -> None:
    fleet, cluster, _, _ = fleet_env
    rows = await _until_running(fleet, 60)
    nodes = {n["NodeID"]: n["Resources"]["CPU"] for n in ray.nodes() if n["Alive"]}
    per_node: dict[str, float] = {}
    for r in rows:
        per_node[r["node_id"]] = per_node.get(r["node_id"], 0) + r["cpus"]
    assert len(nodes) == 3 and len(per_node) >= 2, per_node  # spread, not all on one node
    assert all(per_node[n] <= nodes[n] for n in per_node)
    front = web.AppRunner(_front(fleet))
    await front.setup()
    site = web.TCPSite(front, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    auth = {"Authorization": "Bearer op-token"}
    try:
        async with ClientSession() as http:
            assert (await http.get(f"{base}/api/status")).status == 401
            status = await (await http.get(f"{base}/api/status", headers=auth)).json()
            assert sorted(r["name"] for r in status["streams"]) == ["s0", "s1", "s2", "s3"]
            text = await (await http.get(f"{base}/metrics")).text()
            for n in ("s0", "s1", "s2", "s3"):
                assert f'streamhost_frames_total{{stream="{n}"}}' in text
                assert 'streamhost_fleet_stream_up{node="' in text and f'stream="{n}"' in text
            sd = await (await http.get(f"{base}/sd.json")).json()
            assert sorted(g["labels"]["stream"] for g in sd) == ["s0", "s1", "s2", "s3"]
            page = await (await http.get(f"{base}/?token=op-token")).text()
            assert f"/s/s1/operator#token={fleet.token_of('s1')}" in page
            dash = await (await http.get(f"{base}/s/s1/operator")).text()
            assert "'/s/s1/control'" in dash
            async with http.ws_connect(f"{base}/s/s1/control", headers={
                    "Authorization": f"Bearer {fleet.token_of('s1')}"}) as ws:  # fmt: skip
                await ws.send_json({"id": 1, "type": "status"})
                reply = await asyncio.wait_for(ws.receive_json(), 20)
                assert reply["ok"] and reply["status"]["stream"] == "s1"
            async with http.ws_connect(f"{base}/s/s1/control", headers={
                    "Authorization": f"Bearer {fleet.token_of('s2')}"}) as ws:  # fmt: skip
                await ws.send_json({"id": 2, "type": "status"})
                reply = await asyncio.wait_for(ws.receive_json(), 20)
                assert not reply["ok"]  # another stream's token opens nothing here
    finally:
        await front.cleanup()


def _front(fleet):
    from streamhost.fleet.front import build_front

    return build_front(fleet, "op-token", lambda: None)


async def test_killed_stream_process_is_restarted_and_resumes(fleet_env) -> None:
    fleet, _, _, tmp = fleet_env
    # More than the opening disclosure (said at media time 0): a resume point after the start.
    await _until_running(fleet, 60, lambda rows: rows[0]["sentences"] > 1)
    victim = fleet.members["s0"]
    before = victim.restarts
    os.kill(victim.status["pid"], signal.SIGKILL)  # same machine: a process dies for real
    victim.killed_at = time.time()
    await _until_running(fleet, 60, lambda rows: fleet.members["s0"].restarts > before)
    row = next(r for r in fleet.status() if r["name"] == "s0")
    assert victim.restart_s and victim.restart_s[-1] < 30, victim.restart_s
    assert row["resumed"]["at"] > 0 and any(a["kind"] == "stream_resumed" for a in row["alerts"])
    db = open_read_only(tmp / "data" / "s0.sqlite")
    assert db.execute("SELECT count(*) FROM audit WHERE command='resume'").fetchone()[0] >= 1


async def test_removed_node_is_drained(fleet_env) -> None:
    fleet, cluster, workers, _ = fleet_env
    rows = await _until_running(fleet, 60)
    on = {w.node_id: [r["name"] for r in rows if r["node_id"] == w.node_id] for w in workers}
    node = max(workers, key=lambda w: len(on[w.node_id]))
    moved = on[node.node_id]
    assert moved, on
    cluster.remove_node(node)
    workers.remove(node)
    rows = await _until_running(fleet, 90, lambda rows: all(
        r["node_id"] != node.node_id for r in rows))  # fmt: skip
    assert all(fleet.members[n].restarts >= 1 for n in moved)


async def test_down_stops_every_stream_cleanly(fleet_env) -> None:
    import av

    fleet, _, _, tmp = fleet_env
    await _until_running(fleet, 60)
    final = await fleet.down(30)
    assert sorted(r["name"] for r in final) == ["s0", "s1", "s2", "s3"]
    assert all(r["state"] == "stopped" and r["frames"] > 0 for r in final), final
    assert not fleet.members
    recs = sorted((tmp / "rec").glob("s3*.mp4"))  # s3.mp4, and a part per restart
    assert recs
    for rec in recs:
        with av.open(str(rec)) as f:
            assert sum(1 for _ in f.decode(video=0)) > 0
