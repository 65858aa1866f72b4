"""The store's tables: the SQLite schema of one stream's log and the columns added since.

``SCHEMA`` creates every table (``CREATE ... IF NOT EXISTS``); ``CHAT_ADDED`` are chat columns
added on open, so files from older versions get them too; ``HEALTH_COLUMNS`` is the order in
which the health sampler writes and the morning report reads a health row.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS transcript (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  wall_time REAL NOT NULL,        -- unix seconds when it was committed to air
  media_time REAL NOT NULL,       -- stream seconds when it was committed to air
  aired_at REAL,                  -- stream seconds of its first audio frame; NULL if cut before
  source TEXT NOT NULL,
  product_id TEXT,
  lang TEXT NOT NULL,
  emotion TEXT NOT NULL,
  reply_to TEXT,                  -- trace id of the chat event it answers
  duration REAL NOT NULL,
  text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chat (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  wall_time REAL NOT NULL,
  media_time REAL NOT NULL,
  platform TEXT NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user TEXT NOT NULL,
  text TEXT NOT NULL,
  decision TEXT NOT NULL,         -- accepted | rejected | dropped
  reason TEXT NOT NULL
  -- + CHAT_ADDED (amount, currency, item, count), added on open so older files get them too
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  wall_time REAL NOT NULL,
  media_time REAL NOT NULL,
  actor TEXT NOT NULL,
  command TEXT NOT NULL,
  args TEXT NOT NULL,
  ok INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  wall_time REAL NOT NULL,
  media_time REAL NOT NULL,
  source TEXT NOT NULL,
  product_id TEXT,
  reason TEXT NOT NULL,           -- the guard's reason, e.g. price_mismatch:19 euros 90
  text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS traces (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,         -- the chat event's id for answers, else the sentence's
  utterance TEXT NOT NULL,        -- the sentence's trace id (transcript.trace_id)
  source TEXT NOT NULL,
  wall_time REAL NOT NULL,        -- unix seconds when the trace began
  received REAL,                  -- stage stamps in seconds (see streamhost/trace.py); NULL
  triaged REAL,                   -- where the stage did not apply or was never reached
  text_ready REAL,
  first_audio REAL,
  first_frame_rendered REAL,
  first_packet_out REAL
);
CREATE TABLE IF NOT EXISTS questions (
  id INTEGER PRIMARY KEY,         -- the question id the operator answers (control: answer)
  trace_id TEXT NOT NULL,         -- the chat event's id
  wall_time REAL NOT NULL,        -- unix seconds when it was handed to the operator
  asked_at REAL NOT NULL,         -- stream seconds
  user TEXT NOT NULL,
  lang TEXT NOT NULL,
  text TEXT NOT NULL,             -- the viewer's words (data; never spoken)
  state TEXT NOT NULL,            -- open | answered | unanswered
  answer TEXT,                    -- the operator's answer, spoken on air
  closed_at REAL                  -- stream seconds
);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  wall_time REAL NOT NULL,
  media_time REAL NOT NULL,
  kind TEXT NOT NULL,             -- rtmp_down, stage_restart, guard_rejection, budget ...
  fields TEXT NOT NULL            -- the alert's other fields, JSON
);
CREATE TABLE IF NOT EXISTS health (
  id INTEGER PRIMARY KEY,         -- one row per observe.HEALTH_EVERY_S media seconds
  wall_time REAL NOT NULL,
  media_time REAL NOT NULL,
  frames INTEGER NOT NULL,        -- counters since the process started (a restart resets them)
  late_frames INTEGER NOT NULL,
  stalls INTEGER NOT NULL,
  encoder_dropped INTEGER NOT NULL,
  av_offset_ms REAL NOT NULL,
  rtmp TEXT NOT NULL,             -- each RTMP output's state, comma-separated ('' without one)
  rtmp_reconnects INTEGER NOT NULL,
  viewers INTEGER NOT NULL,
  rss_mb REAL NOT NULL,
  cpu REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_time ON transcript(wall_time);
"""
# Gifts and purchases: what was given (ChatEvent.amount in currency, item, count).
CHAT_ADDED = (
    ("amount", "REAL NOT NULL DEFAULT 0"),
    ("currency", "TEXT NOT NULL DEFAULT ''"),
    ("item", "TEXT NOT NULL DEFAULT ''"),
    ("count", "INTEGER NOT NULL DEFAULT 1"),
)
HEALTH_COLUMNS = (
    "wall_time", "media_time", "frames", "late_frames", "stalls", "encoder_dropped",
    "av_offset_ms", "rtmp", "rtmp_reconnects", "viewers", "rss_mb", "cpu",
)  # fmt: skip
