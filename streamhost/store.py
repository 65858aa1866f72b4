"""SQLite (WAL) log of one stream: transcript, chat with moderation decisions, operator audit,
alerts and a health sample every few seconds (what ``streamhost report`` reads in the morning).

Rows are written as things happen (chat on arrival, a sentence before it is spoken), each
committed at once, so a killed process loses nothing that was on air. A full disk loses rows
but never raises into the stream: see ``Store._writing``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .frames import ChatEvent, Sentence
from .store_schema import CHAT_ADDED, HEALTH_COLUMNS, SCHEMA

__all__ = ["CHAT_ADDED", "HEALTH_COLUMNS", "SCHEMA", "Store", "TranscriptLine", "open_read_only"]


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    wall_time: float
    media_time: float
    aired_at: float | None
    source: str
    product_id: str | None
    lang: str
    text: str
    trace_id: str
    reply_to: str | None


class Store:
    """One stream's SQLite file. Sentences and chat events in; transcript lines out."""

    def __init__(self, data_dir: str | Path, stream: str) -> None:
        self.path = Path(data_dir) / f"{stream}.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: writes stay on the event loop, but close() may run at exit.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(chat)")}
        for name, decl in CHAT_ADDED:
            if name not in have:
                self._db.execute(f"ALTER TABLE chat ADD COLUMN {name} {decl}")
        self._chat: list[tuple[Any, ...]] = []
        self._log: list[tuple[str, tuple[Any, ...]]] = []  # alert and health rows, see add_alert
        # Chat batches are written from a worker thread (a flood must not stall the event
        # loop on SQLite); every access to the connection holds this lock.
        self._lock = threading.RLock()
        self.lost: dict[str, int] = {}  # rows a full disk kept out, by table (never reset)
        self.write_error = ""  # the last write's error; "" once a write succeeds again
        self._held: list[tuple[str, tuple[Any, ...]]] = []  # alert rows waiting for space

    @contextlib.contextmanager
    def _writing(self, table: str, rows: int = 1) -> Iterator[None]:
        """Every write runs in here. A full disk (SQLITE_FULL, or SQLITE_IOERR from ENOSPC)
        must not stop the stream: the rows are counted in ``lost``, the error stays in
        ``write_error`` until a later write succeeds (the Observer alerts on both), and the
        transaction is rolled back so that the next write starts clean."""
        with self._lock:
            try:
                yield
            except sqlite3.OperationalError as e:
                if e.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
                    self._rollback()
                    raise
                self._rollback()
                if rows:  # a batch of held alert rows only is not lost (see write_log)
                    self.lost[table] = self.lost.get(table, 0) + rows
                self.write_error = f"{e.sqlite_errorname}: {e}"
            except BaseException:
                # Any other failure (a value SQLite cannot bind, an encoding error) must not
                # leave the transaction open: every later write would fail with "cannot start
                # a transaction within a transaction".
                self._rollback()
                raise
            else:
                self.write_error = ""

    def _rollback(self) -> None:
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def add_sentence(self, s: Sentence, media_time: float, duration: float) -> None:
        with self._writing("transcript"):
            self._db.execute(
                "INSERT INTO transcript(trace_id, wall_time, media_time, source, product_id, lang,"
                " emotion, reply_to, duration, text) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    s.trace_id,
                    time.time(),
                    media_time,
                    str(s.source),
                    s.product_id,
                    s.lang,
                    str(s.emotion),
                    s.reply_to.trace_id if s.reply_to else None,
                    duration,
                    s.text,
                ),
            )

    def add_rejection(self, s: Sentence, reason: str, media_time: float) -> None:
        with self._writing("rejected"):
            self._db.execute(
                "INSERT INTO rejected(trace_id, wall_time, media_time, source, product_id, reason, text)"
                " VALUES (?,?,?,?,?,?,?)",
                (s.trace_id, time.time(), media_time, str(s.source), s.product_id, reason, s.text),
            )

    def rejections(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(
                "SELECT source, reason, text FROM rejected ORDER BY id"
            ).fetchall()

    def mark_aired(self, trace_id: str, media_time: float) -> None:
        with self._writing("aired"):
            self._db.execute(
                "UPDATE transcript SET aired_at=? WHERE trace_id=? AND aired_at IS NULL",
                (media_time, trace_id),
            )

    def add_chat(self, ev: ChatEvent, decision: str, reason: str) -> None:
        """Buffered: a chat flood must not cost one SQLite commit per message. The engine calls
        ``flush()`` every 100 ms, so a row reaches the file within that (or 256 rows)."""
        self._chat.append(
            (
                ev.trace_id,
                time.time(),
                ev.received_at,
                ev.platform,
                ev.kind,
                ev.user_id,
                ev.user,
                ev.text,
                decision,
                reason,
                ev.amount,
                ev.currency,
                ev.item,
                ev.count,
            )
        )
        if len(self._chat) >= 20000:
            self.flush()  # the periodic flush fell far behind: write now rather than grow

    def flush(self) -> None:
        self.write_log(self.take_log())
        if not self._chat:
            return
        self.write_chat(self.take_chat())

    def take_chat(self) -> list[tuple[Any, ...]]:
        """The buffered chat rows (call on the thread that adds them)."""
        rows, self._chat = self._chat, []
        return rows

    def write_chat(self, rows: list[tuple[Any, ...]]) -> None:
        """Write rows from ``take_chat``; safe from a worker thread."""
        if not rows:
            return
        with self._writing("chat", len(rows)):
            self._insert_chat(rows)

    def _insert_chat(self, rows: list[tuple[Any, ...]]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO chat(trace_id, wall_time, media_time, platform, kind, user_id, user,"
            " text, decision, reason, amount, currency, item, count)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        self._db.execute("COMMIT")

    def add_alert(self, kind: str, fields: dict[str, Any], media_time: float) -> None:
        """Buffered like chat (written by the background flush within 100 ms, or on close):
        an alert is raised on the event loop, often while something is already slow."""
        row = (time.time(), media_time, kind, json.dumps(fields, ensure_ascii=False, default=str))
        self._log.append(("alerts", row))

    def add_health(self, sample: dict[str, Any]) -> None:
        """One health sample (keys HEALTH_COLUMNS), buffered like an alert."""
        self._log.append(("health", tuple(sample[k] for k in HEALTH_COLUMNS)))

    def take_log(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The buffered alert and health rows (call on the thread that adds them)."""
        rows, self._log = self._log, []
        return rows

    def write_log(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Write rows from ``take_log`` in one transaction; safe from a worker thread (one
        at a time). Alert rows a full disk kept out are held (the last 1000) and written with
        the next batch, so the store still says what it lost once space returns."""
        rows, self._held = self._held + rows, []
        if not rows:
            return
        health = ",".join(HEALTH_COLUMNS)
        sql = {
            "alerts": "INSERT INTO alerts(wall_time, media_time, kind, fields) VALUES (?,?,?,?)",
            "health": f"INSERT INTO health({health}) VALUES ({','.join('?' * len(HEALTH_COLUMNS))})",
        }
        with self._lock:
            with self._writing("health", sum(t == "health" for t, _ in rows)):
                self._db.execute("BEGIN")
                for table, row in rows:
                    self._db.execute(sql[table], row)
                self._db.execute("COMMIT")
            if self.write_error:
                self._held = [r for r in rows if r[0] == "alerts"][-1000:]

    def write_traces(self, rows: list[tuple[Any, ...]]) -> None:
        """Finished traces (``TraceBook.take_rows``) in one transaction; safe from a worker
        thread, so the AV path never waits on SQLite for them."""
        if not rows:
            return
        with self._writing("traces", len(rows)):
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO traces(trace_id, utterance, source, wall_time, received, triaged,"
                " text_ready, first_audio, first_frame_rendered, first_packet_out)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._db.execute("COMMIT")

    def traces(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(
                "SELECT trace_id, utterance, source, received, triaged, text_ready, first_audio,"
                " first_frame_rendered, first_packet_out FROM traces ORDER BY id"
            ).fetchall()

    def add_audit(
        self,
        actor: str,
        command: str,
        args: dict[str, Any],
        ok: bool,
        detail: str,
        media_time: float,
    ) -> None:
        with self._writing("audit"):
            self._db.execute(
                "INSERT INTO audit(wall_time, media_time, actor, command, args, ok, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    time.time(),
                    media_time,
                    actor,
                    command,
                    json.dumps(args, ensure_ascii=False),
                    int(ok),
                    detail,
                ),
            )

    def transcript(self, since_wall: float | None = None) -> list[TranscriptLine]:
        with self._lock:
            rows = self._db.execute(
                "SELECT wall_time, media_time, aired_at, source, product_id, lang, text, trace_id,"
                " reply_to FROM transcript WHERE wall_time >= ? ORDER BY id",
                (since_wall or 0.0,),
            ).fetchall()
        return [TranscriptLine(*r) for r in rows]

    def chat_rows(self) -> list[tuple[Any, ...]]:
        self.flush()
        with self._lock:
            return self._db.execute(
                "SELECT trace_id, user, text, decision, reason FROM chat ORDER BY id"
            ).fetchall()

    def put_question(self, q: dict[str, Any]) -> None:
        """Insert or update one question handed to the operator (``Question.as_dict``)."""
        with self._writing("questions"):
            self._db.execute(
                "INSERT INTO questions(id, trace_id, wall_time, asked_at, user, lang, text, state,"
                " answer, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " state=excluded.state, answer=excluded.answer, closed_at=excluded.closed_at",
                (q["question"], q["trace_id"], time.time(), q["asked_at"], q["user"], q["lang"],
                 q["text"], q["state"], q["answer"], q["closed_at"]),
            )  # fmt: skip

    def questions(self, state: str | None = None) -> list[tuple[Any, ...]]:
        """(id, wall_time, asked_at, user, lang, text, state, answer) in ask order."""
        with self._lock:
            return self._db.execute(
                "SELECT id, wall_time, asked_at, user, lang, text, state, answer FROM questions"
                " WHERE ? IS NULL OR state = ? ORDER BY id",
                (state, state),
            ).fetchall()

    def last_question_id(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(id), 0) FROM questions").fetchone()[0]

    def recent(self, limit: int) -> dict[str, list[dict[str, Any]]]:
        """The last ``limit`` transcript lines and chat rows, oldest first (a dashboard's
        opening view)."""
        self.flush()
        with self._lock:
            tr = self._db.execute(
                "SELECT trace_id, media_time, aired_at, source, product_id, lang, reply_to, text"
                " FROM transcript ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            ch = self._db.execute(
                "SELECT trace_id, media_time, platform, user, text, decision, reason FROM chat"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        tk = ("trace_id", "media_time", "aired_at", "source", "product", "lang", "reply_to", "text")
        ck = ("trace_id", "media_time", "platform", "user", "text", "decision", "reason")
        return {
            "transcript": [dict(zip(tk, r, strict=True)) for r in reversed(tr)],
            "chat": [dict(zip(ck, r, strict=True)) for r in reversed(ch)],
        }

    def close(self) -> None:
        self.flush()
        self._db.close()


def open_read_only(path: str | Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
