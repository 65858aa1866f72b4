"""``streamhost report``: the morning report of a night's stream, from its store.

In: a store file, a ``since`` (unix seconds or None). Out: one self-contained HTML page
(``write_report``) and, if asked, the same page printed to PDF by headless Chromium
(``print_pdf``). gather.py reads the figures, plots.py draws them, page.py lays them out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from .gather import Night, gather

__all__ = ["Night", "ReportError", "command", "gather", "parse_since", "print_pdf", "write_report"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120.0
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ReportError(Exception):
    """A report that cannot be made: a bad --since, no Chromium for --pdf, a failed print."""


def parse_since(text: str, now: float | None = None) -> float:
    """``12h`` / ``30m`` / ``2d`` / ``90s`` before now, an ISO time (local unless it has an
    offset), or unix seconds; returns unix seconds."""
    m = _RELATIVE.match(text)
    if m:
        return (time.time() if now is None else now) - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ReportError(
            f"--since {text!r}: expected a time before now like 12h, 30m, 2d, an ISO time like "
            "2026-12-03T22:00 or unix seconds"
        ) from None


def write_report(store_path: str | Path, stream: str, out: str | Path,
                 since: float | None = None) -> Night:  # fmt: skip
    """Gather, draw and write the HTML page to ``out``; returns the figures it shows."""
    from .page import render
    from .plots import FIGURES

    night = gather(store_path, stream, since)
    html = render(night, {name: draw(night) for name, draw in FIGURES.items()})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a page
    return night


def find_chromium() -> str | None:
    env = os.environ.get("STREAMHOST_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: str | Path, pdf_path: str | Path) -> None:
    """Print the page to PDF with headless Chromium (the same layout as the HTML, figures and
    tables alike); ReportError without a Chromium or when printing fails."""
    binary = find_chromium()
    if binary is None:
        raise ReportError(
            "--pdf needs Chromium (looked for " + ", ".join(CHROMIUM_NAMES) + " on PATH and "
            "$STREAMHOST_CHROMIUM); install it (Debian: apt-get install chromium) or open the "
            "HTML page and print it from a browser"
        )
    pdf = Path(pdf_path).resolve()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="streamhost-pdf-") as profile:
        cmd = [
            binary, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", f"--user-data-dir={profile}",
            "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
            Path(html_path).resolve().as_uri(),
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to start as root with its sandbox
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ReportError(f"--pdf: {binary} failed: {e}") from None
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        tail = done.stderr.decode(errors="replace")[-600:]
        raise ReportError(f"--pdf: {binary} wrote no PDF (exit {done.returncode}): {tail}")


def command(args: argparse.Namespace, data: Path) -> int:
    """``streamhost report`` (cli.py): ``--stream`` names the store in ``data`` (optional when
    there is one), ``--since``, ``--out``, ``--pdf [PATH]``. Exit status 2 with a message."""
    stored = sorted(p.stem for p in data.glob("*.sqlite"))
    names = [args.stream] if args.stream else stored
    if len(names) != 1 or names[0] not in stored:
        listed = ", ".join(stored) or "none"
        what = f"no store for stream {args.stream!r}" if args.stream else "pick a stream"
        print(f"streamhost report: {what} in {data} (streams: {listed}); name one with --stream",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        since = parse_since(args.since) if args.since else None
        write_report(data / f"{names[0]}.sqlite", names[0], args.out, since)
        print(f"wrote {args.out}")
        if args.pdf is not None:
            pdf = args.pdf or str(Path(args.out).with_suffix(".pdf"))
            print_pdf(args.out, pdf)
            print(f"wrote {pdf}")
    except ReportError as e:
        print(f"streamhost report: {e}", file=sys.stderr)
        return 2
    return 0
