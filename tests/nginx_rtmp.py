"""Start a real nginx with the RTMP module on 127.0.0.1 for tests and benchmarks.

Usage::

    with NginxRtmp() as server:
        url = server.url("live", "test")   # rtmp://127.0.0.1:PORT/live/test

Each instance gets its own temp prefix (config, pid, logs, temp paths), runs in the foreground
(``daemon off``) as the current user and is stopped (SIGTERM, then SIGKILL) on exit. When nginx or
the RTMP module is missing the helper skips the test, except under ``CI=true`` where the test must
fail instead (a CI image that lost the package should not turn green by skipping).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def _unavailable(reason: str) -> None:
    from support import unavailable  # pytest's, imported only where a test needs it

    unavailable(f"nginx-rtmp ({reason})")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for cand in NGINX_CANDIDATES:
        if os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 128; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application {app} {{
            live on;
            record off;
            allow publish 127.0.0.1;
            allow play 127.0.0.1;
        }}
    }}
}}
"""


class NginxRtmp:
    """A private nginx-rtmp server: ``start()`` / ``stop()`` or use as a context manager."""

    def __init__(self, app: str = "live", port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, app: str | None = None, stream: str = "test") -> str:
        return f"rtmp://{self.host}:{self.port}/{app or self.app}/{stream}"

    @property
    def prefix(self) -> Path:
        assert self._tmp is not None
        return Path(self._tmp.name)

    def error_log(self) -> str:
        try:
            return (self.prefix / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 5.0) -> NginxRtmp:
        nginx = find_nginx()
        if nginx is None:
            _unavailable("nginx binary not found")
        if not os.path.exists(RTMP_MODULE):
            _unavailable(f"{RTMP_MODULE} not found (install libnginx-mod-rtmp)")
        self._tmp = tempfile.TemporaryDirectory(prefix="nginx-rtmp-")
        prefix = self.prefix
        for sub in ("logs", "client_body_temp", "proxy_temp", "fastcgi_temp"):
            (prefix / sub).mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(
            CONFIG.format(module=RTMP_MODULE, prefix=prefix, port=self.port, app=self.app)
        )
        # -e: the compiled-in error log path is not writable for a normal user.
        self._proc = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                _unavailable(f"nginx exited: {err.strip()} {self.error_log()[-500:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx-rtmp did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> NginxRtmp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
