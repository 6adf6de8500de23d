"""Start and stop the reference server (``tests/server/server.mjs``) as a child process.

The reference server is the real SurrealDB engine (npm ``@surrealdb/node``) behind the network
protocol of ``surreal start``. Its Node packages are installed by
``npm ci --prefix tests/server``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

SERVER_DIR = Path(__file__).resolve().parent / "server"
SERVER_JS = SERVER_DIR / "server.mjs"
HOST = "127.0.0.1"


class ReferenceServerError(RuntimeError):
    """The reference server could not be started (the message says why)."""


class ReferenceServer:
    """One reference server process, on ``127.0.0.1`` and a free port.

    ``storage`` is ``"mem://"`` or ``"surrealkv://<dir>"`` (data survives :meth:`restart`).
    ``tls`` is ``(cert_pem_path, key_pem_path)`` to serve https/wss instead of http/ws.
    ``ping_interval`` is the WebSocket Ping period in seconds (0 turns pings off).
    """

    def __init__(
        self,
        storage: str = "mem://",
        tls: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
        user: str = "root",
        password: str = "root",
        ping_interval: float = 5.0,
    ) -> None:
        self.storage = storage
        self.tls = tls
        self.user = user
        self.password = password
        self.ping_interval = ping_interval
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._stderr_path: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start the server; return once it accepts connections (its ``LISTENING`` line)."""
        if self._proc is not None:
            raise ReferenceServerError("the reference server is already running")
        node = shutil.which("node")
        if node is None:
            raise ReferenceServerError("`node` (Node.js >= 20) is not on PATH")
        if not (SERVER_DIR / "node_modules" / "@surrealdb" / "node").is_dir():
            raise ReferenceServerError(
                f"{SERVER_DIR / 'node_modules'} is missing: run `npm ci --prefix tests/server` "
                "from the repository root first"
            )
        # A restart asks for the same port; right after a stop it may still be held for a moment.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._spawn(node, deadline)
                return
            except ReferenceServerError:
                if self._port is None or time.monotonic() > deadline - 1:
                    raise
                time.sleep(0.2)

    def _spawn(self, node: str, deadline: float) -> None:
        args = [
            node,
            str(SERVER_JS),
            "--port",
            str(self._port or 0),
            "--user",
            self.user,
            "--pass",
            self.password,
            "--storage",
            self.storage,
            "--ping-interval",
            str(self.ping_interval),
        ]
        if self.tls is not None:
            args += ["--tls-cert", os.fspath(self.tls[0]), "--tls-key", os.fspath(self.tls[1])]
        fd, self._stderr_path = tempfile.mkstemp(prefix="surreal-reference-", suffix=".log")
        self._stderr = os.fdopen(fd, "w+b")
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._proc = proc
        line = self._read_ready_line(proc, deadline)
        if not line.startswith("LISTENING "):
            self.stop()
            raise ReferenceServerError(f"unexpected first line from the server: {line!r}")
        self._port = int(line.rsplit(":", 1)[1])
        # Keep draining stdout so that the server never blocks on a full pipe.
        assert proc.stdout is not None
        threading.Thread(target=proc.stdout.read, daemon=True).start()

    def _read_ready_line(self, proc: subprocess.Popen[bytes], deadline: float) -> str:
        assert proc.stdout is not None
        found: list[bytes] = []
        reader = threading.Thread(target=_read_line, args=(proc.stdout, found), daemon=True)
        reader.start()
        reader.join(max(0.0, deadline - time.monotonic()))
        if found and found[0]:
            return found[0].decode("utf-8", "replace").strip()
        problem = "did not start in time" if proc.poll() is None else f"exited with {proc.poll()}"
        tail = self._stderr_tail_of_running()
        self.stop()
        raise ReferenceServerError(f"the reference server {problem}; its stderr ends with:\n{tail}")

    def stop(self) -> None:
        """Stop the server (terminate, then kill); always reaps the process."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._stderr_path is not None:
            Path(self._stderr_path).unlink(missing_ok=True)
            self._stderr_path = None

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again on the same port, so that clients can reconnect."""
        self.stop()
        self.start(timeout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stderr_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote to stderr (for failure messages)."""
        if self._stderr_path is None:
            return ""
        try:
            text = Path(self._stderr_path).read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _stderr_tail_of_running(self) -> str:
        if self._stderr is not None:
            self._stderr.flush()
        return self.stderr_tail()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise ReferenceServerError("the reference server has not been started")
        return self._port

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{HOST}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def wss_url(self) -> str:
        self._require_tls()
        return self.ws_url

    @property
    def https_url(self) -> str:
        self._require_tls()
        return self.http_url

    def _require_tls(self) -> None:
        if self.tls is None:
            raise ReferenceServerError("this reference server was started without TLS")


def _read_line(stream: IO[bytes], out: list[bytes]) -> None:
    out.append(stream.readline())
