"""Shared helpers: free ports, gunicorn processes, tiny HTTP client, sizes."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent

#: A secret of the right shape for benchmark instances (never a real site's key).
BENCH_SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"


def write_section(start: str, end: str, block: str) -> None:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) into
    BENCHMARKS.md in place of the section between those markers, or at its end."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
    print(block)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_to(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps a child process (and its children) on ``cpus``."""
    if not cpus:
        return None
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def gzip_size(data: bytes) -> int:
    """Size after ``gzip -9`` (no file name, fixed mtime)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def cookies(self) -> dict[str, str]:
        """``name -> value`` of every ``Set-Cookie`` header."""
        out = {}
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                out[name.strip()] = val.strip()
        return out


def http_request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5.0,
) -> HttpResponse:
    """One request to 127.0.0.1:port; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return HttpResponse(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def accept_all(port: int) -> str:
    """POST /consent/accept as the banner's script does; returns the ``consent`` cookie."""
    response = http_request(
        port,
        "/consent/accept",
        method="POST",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=b"next=%2F",
    )
    if response.status != 200:
        raise RuntimeError(f"POST /consent/accept answered {response.status}")
    cookie = response.cookies().get("consent")
    if not cookie:
        raise RuntimeError("POST /consent/accept set no consent cookie")
    return cookie


class Gunicorn:
    """A gunicorn master with ``workers`` sync workers on a free 127.0.0.1 port.

    Started in its own session, so stopping it ends the master and its workers
    (and nothing else): SIGTERM to the group, then SIGKILL after a bounded wait.
    """

    def __init__(
        self,
        app: str,
        env: Mapping[str, str],
        log_path: Path,
        *,
        workers: int = 2,
        cpus: frozenset[int] | None = None,
        ready_timeout: float = 20.0,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.app = app
        #: Runs gunicorn, e.g. ``("valgrind", "--tool=callgrind")``.
        self.wrapper = tuple(wrapper)
        self.cpus = cpus
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.workers = workers
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        self.port = free_port()
        self._log = self.log_path.open("ab")
        command = [
            *self.wrapper,
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "3",
            "--timeout",
            "30",
            "--log-level",
            "warning",
            self.app,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pin_to(self.cpus),
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn {self.app} exited:\n{self.log_tail()}")
            try:
                if http_request(self.port, "/healthz", timeout=1.0).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn {self.app} not ready in {self.ready_timeout}s")

    def worker_pids(self) -> list[int]:
        """The master's children (the workers), from /proc."""
        if self.process is None:
            return []
        master = self.process.pid
        try:
            text = Path(f"/proc/{master}/task/{master}/children").read_text()
            return sorted(int(pid) for pid in text.split())
        except OSError:
            pids = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[1]) == master:
                    pids.append(int(stat.parent.name))
            return sorted(pids)

    def cpu_seconds(self) -> tuple[tuple[int, ...], float]:
        """The workers' pids and their user + system CPU time so far."""
        tick = os.sysconf("SC_CLK_TCK")
        pids = tuple(self.worker_pids())
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # Fields 14 and 15 of stat (utime, stime); [0] here is field 3.
            total += (int(fields[11]) + int(fields[12])) / tick
        return pids, total

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if process is not None:
            # The workers share the master's session: make sure none outlives it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
