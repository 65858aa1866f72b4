"""``streamhost transcript``: what was said (or the questions nobody answered), from the stores
in the data directory. Parsed arguments and the loaded config in; lines on stdout and an exit
code out (2 with the problem named on stderr)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .config import Config
from .store import Store


def cmd_transcript(args: argparse.Namespace, cfg: Config) -> int:
    data = Path(cfg.store.data_dir)
    names = [args.stream] if args.stream else sorted(p.stem for p in data.glob("*.sqlite"))
    if not names:
        print(f"streamhost: no streams in {data}", file=sys.stderr)
        return 2
    for name in names:
        if not (data / f"{name}.sqlite").is_file():
            print(f"streamhost: no store for stream {name!r} in {data}", file=sys.stderr)
            return 2
        store = Store(data, name)
        try:
            (_unanswered if args.unanswered else _said)(store, name, args)
        finally:
            store.close()
    return 0


def _when(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))


def _unanswered(store: Store, name: str, args: argparse.Namespace) -> None:
    """The morning list: questions the host could not answer and nobody answered live."""
    for qid, wall, _, user, lang, text, _, _ in store.questions("unanswered"):
        if args.since is not None and wall < args.since:
            continue
        if args.json:
            row = {"stream": name, "id": qid, "wall_time": wall, "lang": lang, "user": user,
                   "text": text}  # fmt: skip
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{_when(wall)} [{name}] #{qid} {lang} {user}: {text}")


def _said(store: Store, name: str, args: argparse.Namespace) -> None:
    for line in store.transcript(args.since):
        if args.json:  # one object per line, for scripts and spreadsheets (a clip --script)
            print(json.dumps({"stream": name, **asdict(line)}, ensure_ascii=False))
            continue
        state = "" if line.aired_at is not None else " (not aired)"
        print(f"{_when(line.wall_time)} [{name}] {line.source:<8} {line.product_id or '-':<10} "
              f"{line.text}{state}")  # fmt: skip
