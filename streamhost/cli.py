"""Command line: ``streamhost run | check | transcript | report | avatar | fleet | provenance``."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from .cli_avatar import cmd_avatar
from .config import Config, ConfigError, load_config
from .heap import reexec_with_huge_pages

log = logging.getLogger("streamhost")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(
            f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080"
        )
    return host.strip("[]"), int(port)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return int(text)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as e:
        print(f"streamhost: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def check_assets(cfg: Config) -> list[str]:
    """Problems with the files a config names (catalog, avatar pack, voices, output paths)."""
    from .avatar.pack import PackError, load_pack
    from .avatar.registry import check_face
    from .compliance import compliance_problems
    from .langdata import talk_data_problems
    from .talk.catalog import CatalogError, load_catalog
    from .voice.registry import voice_problems

    problems: list[str] = []
    try:
        load_catalog(cfg.talk.catalog)
    except (CatalogError, OSError) as e:
        problems.append(f"talk.catalog = {cfg.talk.catalog!r}: {e}")
    try:
        pack = load_pack(cfg.avatar.pack)
        pack.tile_xy(cfg.stream.width, cfg.stream.height)
        check_face(pack)
    except (PackError, ValueError, OSError) as e:
        problems.append(f"avatar.pack = {cfg.avatar.pack!r}: {e}")
    problems.extend(voice_problems(cfg.voice, cfg.stream.sample_rate, cfg.stream.language))
    problems.extend(f"talk data: {p}" for p in talk_data_problems([cfg.stream.language]))
    if cfg.talk.show:
        from .talk.show import ShowError
        from .talk.show_parse import load_show

        try:
            load_show(
                cfg.talk.show, load_catalog(cfg.talk.catalog), default_lang=cfg.stream.language
            )
        except (ShowError, CatalogError, OSError) as e:
            problems.append(f"talk.show = {cfg.talk.show!r}: {e}")
    if cfg.output.record:
        parent = Path(cfg.output.record).parent
        if parent.exists() and not os.access(parent, os.W_OK):
            problems.append(
                f"output.record = {cfg.output.record!r}: folder {str(parent)!r} is not writable"
            )
        if not cfg.output.record.lower().endswith(".mp4"):
            problems.append(f"output.record = {cfg.output.record!r}: must end in .mp4")
    problems.extend(compliance_problems(cfg))  # per stream.compliance profile, and consent
    return problems


def cmd_check(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        for p in e.problems:
            print(f"{e.source}: {p}", file=sys.stderr)
        return 2
    problems = check_assets(cfg)
    for p in problems:
        print(f"{cfg.source}: {p}", file=sys.stderr)
    if problems:
        return 2
    from .config_warnings import config_warnings

    for w in config_warnings(cfg):
        print(f"{cfg.source}: warning: {w}", file=sys.stderr)
    print(
        f"{cfg.source}: ok (stream {cfg.stream.name!r}, {cfg.stream.width}x{cfg.stream.height} "
        f"@ {cfg.stream.fps} fps, language {cfg.stream.language})"
    )
    from .avatar.pack import load_pack

    pack = load_pack(cfg.avatar.pack, check_model=False)
    print(f"avatar pack {cfg.avatar.pack}: {pack.describe()}")  # family, size, consent
    return 0


async def _serve(cfg: Config, args: argparse.Namespace) -> int:
    from aiohttp import web

    from .control.http import build_app
    from .engine import Engine

    token = os.environ.get("STREAMHOST_CONTROL_TOKEN") or cfg.control.token or None
    if token is None and not _is_loopback(cfg.http.host):
        print(
            f"streamhost: http.host = {cfg.http.host!r} is not loopback; set control.token or "
            "STREAMHOST_CONTROL_TOKEN before exposing the control socket",
            file=sys.stderr,
        )
        return 2
    engine = Engine(cfg, virtual_clock=args.virtual_clock, token=token, copies=args.copies)
    runner = web.AppRunner(build_app(engine), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.http.host, cfg.http.port)
    try:
        await site.start()
    except OSError as e:
        print(f"streamhost: cannot listen on {cfg.http.host}:{cfg.http.port}: {e}", file=sys.stderr)
        await runner.cleanup()
        return 2
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(
        f"streamhost: stream {cfg.stream.name!r} on air — viewer http://{cfg.http.host}:{port}/",
        flush=True,
    )
    if token is None:
        print(f"streamhost: control token (shown once): {engine.token}", flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, engine.request_stop)
    try:
        await engine.run(args.duration)
    finally:
        await runner.cleanup()
    print(
        f"streamhost: stopped cleanly after {engine.primary.loop.stats.frames} frames", flush=True
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _load(args.config)
    overrides: dict[str, dict] = {}
    if args.record:
        overrides.setdefault("output", {})["record"] = str(Path(args.record).resolve())
    if args.rtmp:
        overrides.setdefault("output", {})["rtmp"] = list(args.rtmp)
    if args.http:
        host, port = args.http
        overrides["http"] = {"host": host, "port": port}
    if args.bench:
        overrides.setdefault("stream", {})["bench_tag"] = True
    if overrides:
        try:
            cfg = cfg.with_overrides(**overrides)
        except ConfigError as e:
            print(f"streamhost: {e}", file=sys.stderr)
            return 2
    problems = check_assets(cfg)
    if problems:
        for p in problems:
            print(f"streamhost: {p}", file=sys.stderr)
        return 2
    from .config_warnings import config_warnings

    for w in config_warnings(cfg):
        log.warning("%s", w)
    return asyncio.run(_serve(cfg, args))


def _parse_since(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: expected unix seconds or ISO time"
        ) from None


def cmd_transcript(args: argparse.Namespace) -> int:
    """``streamhost transcript`` (``cli_transcript.py``)."""
    from .cli_transcript import cmd_transcript as run

    return run(args, _load(args.config))


def cmd_report(args: argparse.Namespace) -> int:
    """``streamhost report``: the night's HTML page (and PDF) from the store, read-only."""
    from .report import command

    return command(args, Path(_load(args.config).store.data_dir))


def cmd_fleet(args: argparse.Namespace) -> int:
    """``streamhost fleet ...``: the fleet package (and Ray) load only here."""
    from .fleet.cli import main as fleet_main

    return fleet_main(args)


def cmd_provenance(args: argparse.Namespace) -> int:
    """``streamhost provenance init | verify``."""
    from .output.provenance import UNTRUSTED_NOTE, ProvenanceError, make_test_chain, verify

    if args.prov_cmd == "init":
        paths = make_test_chain(Path(args.out))
        for what, p in paths.items():
            print(f"wrote {what:<5} {p}")
        print(f"[provenance]\nenabled = true\ncert_chain = {str(paths['chain'])!r}\n"
              f"key = {str(paths['key'])!r}")  # fmt: skip
        print(f"NOTE: {UNTRUSTED_NOTE}")
        return 0
    try:
        trust = Path(args.trust).read_bytes() if args.trust else None
        v = verify(args.file, trust)
    except (ProvenanceError, OSError) as e:
        print(f"streamhost provenance verify: {e}", file=sys.stderr)
        return 2
    import json

    if v.manifest is not None:
        print(json.dumps(v.manifest, indent=1, ensure_ascii=False))
    if v.note is not None:
        print(f"unsigned: {v.note.get('state')}: {v.note.get('reason')}")
    print(f"{args.file}: {v.state}" + (f" ({', '.join(v.failures)})" if v.failures else ""))
    return 0 if v.state in ("Trusted", "Valid") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="streamhost", description="Real-time AI livestream host engine"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the stream(s) of a config")
    run.add_argument("--config")
    run.add_argument("--duration", type=float, help="stop cleanly after this many seconds")
    run.add_argument("--record", help="also record to this MP4 file")
    run.add_argument("--rtmp", action="append", help="push to this RTMP URL (repeatable)")
    run.add_argument("--http", type=_host_port, help="HOST:PORT for the HTTP server")
    run.add_argument("--virtual-clock", action="store_true", help="render as fast as possible")
    run.add_argument(
        "--bench", action="store_true", help="bench mode: draw the trace-id tag in each frame"
    )
    run.add_argument(
        "--copies",
        type=_positive_int,
        default=1,
        help="run N identical streams in this process (load tests; they share the avatar model)",
    )
    chk = sub.add_parser("check", help="validate a config and the assets it names")
    chk.add_argument("--config")
    av = sub.add_parser("avatar", help="avatar packs")
    avs = av.add_subparsers(dest="avatar_cmd", required=True)
    bld = avs.add_parser(
        "build", help="build a pack: photo (portraits), clip (a presenter video) or wav2lip"
    )
    src = bld.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", help="presenter video (clip: >= 60 s talking, with sound)")
    src.add_argument(
        "--image", action="append", help="portrait photo (repeat for 1-10; family photo)"
    )
    bld.add_argument(
        "--family", choices=("photo", "clip", "wav2lip"),
        help="default: wav2lip with --model, else photo for --image, clip for --video",
    )  # fmt: skip
    bld.add_argument("--out", required=True, help="new pack folder")
    bld.add_argument("--model", help="wav2lip: Wav2Lip-contract ONNX model (mel, face)")
    bld.add_argument("--person", help="who appears (recorded in the pack)")
    bld.add_argument("--consent", choices=("yes", "no"), help="yes: they agreed to this use")
    bld.add_argument("--consent-date", help="when they agreed (default: today)")
    bld.add_argument("--consent-note", help="where the signed release is kept, etc.")
    bld.add_argument(
        "--delete-source", action="store_true", help="remove the source files once built"
    )
    bld.add_argument("--size", type=int, choices=(96, 256), help="model face size (checked)")
    bld.add_argument("--width", type=int, default=720, help="canvas width (= stream.width)")
    bld.add_argument("--height", type=int, default=1280, help="canvas height (= stream.height)")
    bld.add_argument("--seconds", type=float, default=10.0, help="wav2lip: video length kept")
    bld.add_argument(
        "--script", help="clip: what the presenter reads in the video (English text file): "
        "forced alignment checks the mouth labels; without it, phone decoding does",
    )  # fmt: skip
    imp = avs.add_parser(
        "import-wav2lip", help="original Wav2Lip checkpoint (.pth) -> the contract's ONNX"
    )
    imp.add_argument("checkpoint", help="Wav2Lip .pth (a state_dict, keys may carry module.)")
    imp.add_argument("--size", type=int, choices=(96, 256), required=True)
    imp.add_argument("--out", required=True, help="ONNX file to write")
    tr = sub.add_parser("transcript", help="print what was said, from the store")
    tr.add_argument("--config")
    tr.add_argument("--stream")
    tr.add_argument("--since", type=_parse_since)
    tr.add_argument(
        "--unanswered", action="store_true",
        help="list the viewers' questions nobody answered (they were promised a reply)",
    )  # fmt: skip
    tr.add_argument("--json", action="store_true", help="one JSON object per line")
    rp = sub.add_parser("report", help="the morning report: one HTML page (and PDF) of a night")
    rp.add_argument("--config")
    rp.add_argument("--stream", help="which stream's store (needed when there are several)")
    rp.add_argument("--since", help="12h, 30m, 2d (before now), an ISO time or unix seconds")
    rp.add_argument("--out", default="report.html", help="HTML file to write")
    rp.add_argument(
        "--pdf", nargs="?", const="", metavar="PATH",
        help="also print it to PDF with headless Chromium (default: --out with .pdf)",
    )  # fmt: skip
    from .fleet.cli import add_parser as add_fleet_parser  # Ray itself loads only in fleet verbs

    add_fleet_parser(sub)
    pv = sub.add_parser("provenance", help="C2PA signing of recordings: test keys, verify")
    pvs = pv.add_subparsers(dest="prov_cmd", required=True)
    pvi = pvs.add_parser("init", help="make a local test chain (root CA + signer): untrusted")
    pvi.add_argument("--out", default="provenance-test-keys", help="folder to write it to")
    pvv = pvs.add_parser("verify", help="print a file's C2PA manifest and validation state")
    pvv.add_argument("file")
    pvv.add_argument("--trust", help="a root CA PEM to trust (e.g. the test chain's root.pem)")
    args = parser.parse_args(argv)
    if argv is None and (args.cmd == "run" or getattr(args, "fleet_cmd", "") == "up"):
        # A real command line that runs streams: start again with huge pages for the heap
        # where STREAMHOST_HUGE_PAGES=1 asks (heap.py); an in-process call (tests) never execs.
        reexec_with_huge_pages()
    logging.basicConfig(
        level=os.environ.get("STREAMHOST_LOG", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cmds = {"run": cmd_run, "check": cmd_check, "transcript": cmd_transcript, "avatar": cmd_avatar,
            "fleet": cmd_fleet, "provenance": cmd_provenance, "report": cmd_report}  # fmt: skip
    return cmds[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
