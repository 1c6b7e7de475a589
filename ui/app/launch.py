"""Start the app: ``streamlit run ui/app/main.py`` on loopback, over the memory the settings name."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from memory.errors import InvalidConfig, SourceUnavailable
from memory.settings import Settings, settings_environment

LOOPBACK = ("127.0.0.1", "localhost", "::1")
APP = Path(__file__).resolve().with_name("main.py")


def streamlit_argv(host: str, port: int) -> list[str]:
    """The command line of the app's server: headless, no usage statistics, no file watcher."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false", "--client.toolbarMode", "viewer", "--theme.base", "light",
    ]


def app_environment(settings: Settings, *, api: str | None = None, token: str | None = None) -> dict[str, str]:
    """This process's environment plus the ``XMEM_*`` variables that rebuild ``settings`` in the app, or,
    with ``api``, that point it at that API (the token goes through the environment, not the command line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMEM_")}
    env.update(settings_environment(settings))
    if api:
        env["XMEM_UI_API_URL"] = api
        if token:
            env["XMEM_API_TOKEN"] = token
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def check_host(host: str) -> None:
    if host not in LOOPBACK:
        raise InvalidConfig(
            f"the app has no login, so it only listens on loopback, not {host!r}",
            hint="use --host 127.0.0.1 and reach it through an SSH tunnel; the API (`xmem serve`) has tokens",
        )


def check_api(api: str) -> None:
    if not api.startswith(("http://", "https://")):
        raise InvalidConfig(f"--api wants the API's base URL, e.g. http://127.0.0.1:8765, not {api!r}")


def start(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8501, log: Path | None = None,
    api: str | None = None, token: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start the app's server in the background (its output goes to ``log``, or is discarded); with ``api``,
    over the API at that URL (as ``token``) instead of the embedded memory of ``settings``."""
    check_host(host)
    if api:
        check_api(api)
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise InvalidConfig("the app needs Streamlit", hint="pip install 'experiment-memory[ui]'") from None
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it open
    return subprocess.Popen(streamlit_argv(host, port), env=app_environment(settings, api=api, token=token), stdout=out,
                            stderr=subprocess.STDOUT)


def wait_until_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    """Wait for the server's health endpoint; fail with the reason when it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SourceUnavailable(f"the app exited with code {process.returncode} before answering at {url}",
                                    hint="is the port taken? try --port")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SourceUnavailable(f"the app did not answer at {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
