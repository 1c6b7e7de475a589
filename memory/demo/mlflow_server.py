"""Start and stop a real ``mlflow server`` on loopback (used by the demo, tests and benchmarks)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from memory.errors import SourceUnavailable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlflow_executable() -> list[str]:
    beside = Path(sys.executable).with_name("mlflow")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mlflow")
    if found:
        return [found]
    raise SourceUnavailable("the mlflow command is not installed", hint="pip install 'experiment-memory[mlflow]'")


class MlflowServer:
    """``mlflow server`` with a SQLite backend store in ``folder``, on 127.0.0.1:``port``."""

    def __init__(self, folder: Path, port: int | None = None, *, startup_timeout: float = 120.0) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "mlflow-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend_uri(self) -> str:
        return f"sqlite:///{self.folder / 'mlflow.db'}"

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> "MlflowServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.healthy():
            raise SourceUnavailable(f"port {self.port} is already serving something", hint="choose another --port")
        command = [
            *_mlflow_executable(), "server",
            "--backend-store-uri", self.backend_uri,
            "--default-artifact-root", str(self.folder / "artifacts"),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", "1",
        ]
        env = {**os.environ, "MLFLOW_LOGGING_LEVEL": "WARNING"}
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.folder, start_new_session=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SourceUnavailable(
                    f"mlflow server exited with code {self.process.returncode}; see {self.log_path}"
                )
            if self.healthy():
                return self
            time.sleep(0.3)
        self.stop()
        raise SourceUnavailable(f"mlflow server did not become healthy in {self.startup_timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> "MlflowServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
