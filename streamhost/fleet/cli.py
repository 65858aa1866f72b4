"""``streamhost fleet up | status | add | remove | restart | down``.

``up`` runs in the foreground: it joins (or starts) the Ray cluster, places the streams, serves
the front and writes ``<data_dir>/fleet-front.json`` (the front's URL and operator token, mode
0600). The other commands read that file (from ``--config``'s data_dir) or take ``--front`` and
``--token``, and talk to the front's API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..problems import ConfigError
from .config import FleetConfig, load_fleet

STATE_FILE = "fleet-front.json"


def add_parser(sub: Any) -> None:
    """The ``fleet`` subcommand and its verbs, on the main parser's subparsers."""
    fl = sub.add_parser("fleet", help="run many streams over a Ray cluster")
    verbs = fl.add_subparsers(dest="fleet_cmd", required=True)
    up = verbs.add_parser("up", help="start the fleet (foreground) and its HTTP front")
    up.add_argument("--config", required=True, help="fleet.toml")
    up.add_argument("--duration", type=float, help="stop cleanly after this many seconds")
    for name, text in (("status", "list the streams: node, state, frames, alerts"),
                       ("add", "add a stream to the running fleet"),
                       ("remove", "stop one stream cleanly and remove it"),
                       ("restart", "restart one stream (it resumes its show)"),
                       ("down", "stop the fleet cleanly")):  # fmt: skip
        p = verbs.add_parser(name, help=text)
        p.add_argument("--config", help="fleet.toml (finds the running front)")
        p.add_argument("--front", help="front URL, e.g. http://127.0.0.1:8090")
        p.add_argument("--token", help="fleet operator token (default: from the state file)")
        if name in ("add", "remove", "restart"):
            p.add_argument("name", help="stream name")
        if name == "add":
            p.add_argument("--stream-config", default="", help="the stream's streamhost config")
            p.add_argument("--cpus", type=float, help="CPU share (default: the fleet's)")
            p.add_argument("--gpus", type=float, help="GPU share (default: from the avatar)")
        if name == "status":
            p.add_argument("--json", action="store_true", help="raw JSON rows")


def main(args: argparse.Namespace) -> int:
    if args.fleet_cmd == "up":
        try:
            fc = load_fleet(args.config)
        except ConfigError as e:
            print(f"streamhost fleet: {e}", file=sys.stderr)
            return 2
        return asyncio.run(up(fc, args.duration))
    try:
        front, token = _front(args)
        return _client(args, front, token)
    except (OSError, ValueError, ConfigError) as e:
        print(f"streamhost fleet {args.fleet_cmd}: {e}", file=sys.stderr)
        return 2


async def up(fc: FleetConfig, duration_s: float | None = None) -> int:
    """Run the fleet until ``fleet down``, a signal or ``duration_s``; then stop it cleanly."""
    from aiohttp import web

    from .front import build_front
    from .manager import Fleet, connect

    logging.getLogger("streamhost.fleet").setLevel(logging.INFO)
    started = connect(fc)
    fleet = Fleet(fc)
    token = fc.token or secrets.token_urlsafe(24)
    done = asyncio.Event()
    runner = web.AppRunner(build_front(fleet, token, done.set), access_log=None)
    state = Path(fc.data_dir) / STATE_FILE
    try:
        fleet.start()
        await runner.setup()
        site = web.TCPSite(runner, fc.front_host, fc.front_port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://{fc.front_host}:{port}"
        state.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"url": url, "token": token, "pid": os.getpid()}, f)
        print(f"streamhost fleet: {len(fleet.members)} streams; front {url}/?token={token}",
              flush=True)  # fmt: skip
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        watcher = asyncio.create_task(fleet.watch())
        limit = duration_s or fc.duration_s or None
        try:
            await asyncio.wait_for(done.wait(), limit)
        except TimeoutError:
            pass
        watcher.cancel()
        final = await fleet.down()
        for row in final:
            print(f"streamhost fleet: {row.get('name')}: {row.get('state')}, "
                  f"{row.get('frames', 0)} frames", flush=True)  # fmt: skip
    finally:
        state.unlink(missing_ok=True)
        await runner.cleanup()
        if started:
            import ray

            ray.shutdown()
    return 0


def _front(args: argparse.Namespace) -> tuple[str, str]:
    front, token = args.front, args.token
    if front is None or token is None:
        if not args.config:
            raise ValueError("give --config fleet.toml (or --front URL and --token)")
        path = Path(load_fleet(args.config).data_dir) / STATE_FILE
        if not path.is_file():
            raise ValueError(f"no running fleet: {path} does not exist (start it with fleet up)")
        saved = json.loads(path.read_text())
        front, token = front or saved["url"], token or saved["token"]
    return front.rstrip("/"), token


def _request(method: str, url: str, token: str, body: Any = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        reply = json.loads(e.read() or b"{}")
        raise ValueError(reply.get("error", {}).get("message") or f"HTTP {e.code}") from None


def _client(args: argparse.Namespace, front: str, token: str) -> int:
    cmd = args.fleet_cmd
    if cmd == "status":
        rows = _request("GET", f"{front}/api/status", token)["streams"]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"{'stream':<16} {'state':<12} {'node':<16} {'frames':>8} {'media s':>9} "
              f"{'restarts':>8}  alerts")  # fmt: skip
        for r in rows:
            alerts = r.get("alerts") or []
            print(f"{r['name']:<16} {r['state']:<12} {r.get('node_ip') or '-':<16} "
                  f"{r.get('frames', 0):>8} {r.get('media_time', 0):>9.1f} {r['restarts']:>8}  "
                  f"{len(alerts)}{' last: ' + alerts[-1]['kind'] if alerts else ''}")  # fmt: skip
        return 0
    if cmd == "add":
        table: dict[str, Any] = {"name": args.name}
        if args.stream_config:
            table["config"] = str(Path(args.stream_config).resolve())
        for k in ("cpus", "gpus"):
            if getattr(args, k) is not None:
                table[k] = getattr(args, k)
        _request("POST", f"{front}/api/streams", token, table)
    elif cmd == "remove":
        _request("DELETE", f"{front}/api/streams/{args.name}", token)
    elif cmd == "restart":
        _request("POST", f"{front}/api/streams/{args.name}/restart", token)
    elif cmd == "down":
        _request("POST", f"{front}/api/down", token)
    print(f"streamhost fleet {cmd}: ok")
    return 0
