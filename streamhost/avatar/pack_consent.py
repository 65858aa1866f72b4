"""The ``[consent]`` table of a pack manifest: the parsed TOML dict in, a ``Consent`` record
(who appears, that they agreed, until when) or None out, with problems appended to a list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Consent:
    """Who appears in the pack and that they agreed to be shown as an AI host."""

    person: str
    agreed: bool
    date: str
    note: str = ""
    scope: str = ""  # what the person agreed to ("AI host on our shop's livestreams")
    expires: str = ""  # ISO date after which the consent no longer holds; "" = no end
    revoked: bool = False

    def describe(self) -> str:
        note = f" ({self.note})" if self.note else ""
        until = f", until {self.expires}" if self.expires else ""
        return f"{self.person}, agreed {self.date}{until}{note}"

    def expired_or_revoked(self, now: dt.date) -> str | None:
        """Why the consent no longer holds on ``now`` (checked at every start), or None."""
        if self.revoked:
            return "was revoked"
        if self.expires and dt.date.fromisoformat(self.expires) < now:
            return f"expired on {self.expires}"
        return None


def _consent(data: dict, problems: list[str], required: bool) -> Consent | None:
    c = data.get("consent")
    if c is None:
        if required:
            problems.append(
                "[consent] missing: a pack showing a real person must name them (person) and "
                "record that they agreed (agreed = true, date)"
            )
        return None
    if not isinstance(c, dict):
        problems.append("consent must be a table: [consent] person, agreed, date")
        return None
    n = len(problems)
    person = c.get("person")
    if not isinstance(person, str) or not person.strip():
        problems.append(f"[consent] person = {person!r}: must name who appears")
    agreed = c.get("agreed")
    if agreed is not True:
        problems.append(f"[consent] agreed = {agreed!r}: must be true (the person agreed)")
    date = c.get("date")
    if isinstance(date, dt.date):
        date = date.isoformat()
    if not isinstance(date, str) or not date.strip():
        problems.append(f"[consent] date = {date!r}: must give when they agreed")
    note = c.get("note", "")
    if not isinstance(note, str):
        problems.append(f"[consent] note = {note!r}: must be a string")
    scope, expires, revoked = c.get("scope", ""), c.get("expires", ""), c.get("revoked", False)
    if isinstance(expires, dt.date):
        expires = expires.isoformat()
    if not isinstance(scope, str):
        problems.append(f"[consent] scope = {scope!r}: must be a string")
    if not isinstance(expires, str) or (expires and not _is_date(expires)):
        problems.append(f"[consent] expires = {expires!r}: must be a date (YYYY-MM-DD)")
    if not isinstance(revoked, bool):
        problems.append(f"[consent] revoked = {revoked!r}: must be true or false")
    if len(problems) > n:
        return None
    return Consent(person.strip(), True, date.strip(), note, scope.strip(), expires, revoked)


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
