"""A real IRC server for tests: Debian's ngircd on 127.0.0.1, own temp config, foreground.

``IrcServer(tmp_dir).start()`` picks a free port, writes a config (no PAM/ident/DNS, no flood
penalties, the shortest ping timeouts ngircd allows, an IRC operator ``op``/``oppass``) and runs
``ngircd -n -f CONF``; ``stop()`` terminates it; ``restart()`` brings it back on the same port.
``require_ngircd()`` skips the test where ngircd is missing, but fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from support import unavailable

DEBIAN_PACKAGE = "ngircd"


def find_ngircd() -> str | None:
    return shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if os.access(p, os.X_OK)), None
    )


def require_ngircd() -> str:
    """Path of ngircd; skip without it, except under CI=true where a missing peer is a failure."""
    exe = find_ngircd()
    if exe is None:
        unavailable(f"ngircd (Debian package {DEBIAN_PACKAGE!r})")
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IrcServer:
    """One ngircd process; ``port`` stays the same across ``restart()``."""

    # ngircd refuses lower values (it clamps both to 5 s).
    PING_TIMEOUT_S = 5
    PONG_TIMEOUT_S = 5

    def __init__(self, workdir: Path, exe: str | None = None) -> None:
        self.exe = exe or require_ngircd()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.dir / "ngircd.conf"
        self.log = self.dir / "ngircd.log"
        self.proc: subprocess.Popen | None = None

    def _write_conf(self) -> None:
        (self.dir / "conf.d").mkdir(exist_ok=True)
        self.conf.write_text(
            f"""[Global]
Name = irc.streamhost.test
Info = streamhost test ircd
AdminInfo1 = streamhost tests
AdminInfo2 = 127.0.0.1
AdminEMail = tests@localhost
Listen = 127.0.0.1
Ports = {self.port}
MotdPhrase = streamhost test server
PidFile = {self.dir / "ngircd.pid"}
[Limits]
PingTimeout = {self.PING_TIMEOUT_S}
PongTimeout = {self.PONG_TIMEOUT_S}
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
# Tests post bursts of messages; ngircd would otherwise throttle them by seconds each.
MaxPenaltyTime = 0
[Options]
PAM = no
Ident = no
DNS = no
IncludeDir = {self.dir / "conf.d"}
[Operator]
Name = op
Password = oppass
"""
        )

    def start(self, timeout: float = 10.0) -> IrcServer:
        self._write_conf()
        logf = open(self.log, "ab")  # the child keeps its own copy of the descriptor
        self.proc = subprocess.Popen(
            [self.exe, "-n", "-f", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ngircd exited with {self.proc.returncode}: {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ngircd did not listen on port {self.port}: {self.log_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""
