"""Real servers on 127.0.0.1 for tests: a Flask app over HTTP, and programs the
project installs through Debian's packages (found on PATH or in /usr/sbin)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port (threaded) and yield its origin."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A loopback port nobody listens on right now (for programs that need one named)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def debian_program(name: str, package: str) -> str:
    """The path of ``name``; without it, skip with one line, or fail on CI (``CI=true``),
    whose ``.ci/run`` installs ``package``."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is not None:
        return path
    message = f"{name} not found: install Debian's {package} (sudo apt-get install {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}; .ci/run installs it", pytrace=False)
    pytest.skip(message)
