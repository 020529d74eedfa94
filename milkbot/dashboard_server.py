"""`milkbot dashboard`: the public Streamlit dashboard on 127.0.0.1 (MILKBOT_DASHBOARD_PORT, default 8501),
reading the public API at MILKBOT_PUBLIC_API_URL (default: this host's local nginx, /v1). Locally the
nginx of `milkbot api` also serves it at /, as the public edge does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .config import PROJECT_ROOT, Settings
from .shutdown import StopRequest, die_with_parent, say

APP = PROJECT_ROOT / "dashboard" / "serve.py"   # the page (app.py) behind its WebSocket guard


@dataclass
class Dashboard:
    proc: subprocess.Popen
    url: str
    api_url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def public_api_url(settings: Settings) -> str:
    return settings.extra.get("MILKBOT_PUBLIC_API_URL") or f"http://127.0.0.1:{settings.api_port}/v1"


def command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            "--client.showErrorDetails", "false", "--client.toolbarMode", "viewer",
            "--theme.base", "light"]


def start(settings: Settings, *, port: int | None = None, api_url: str | None = None,
          log: Path | None = None, timeout: float = 60) -> Dashboard:
    """Start Streamlit and wait for its health endpoint; stop it again if it does not come up."""
    port = port or settings.dashboard_port
    api_url = api_url or public_api_url(settings)
    env = {**os.environ, "MILKBOT_PUBLIC_API_URL": api_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    # the dashboard holds no secret: nothing of the operator's environment beyond what it needs
    for k in list(env):
        if k.startswith(("MILKBOT_KALSHI", "MILKBOT_DATABASE", "MILKBOT_AUTHENTICATOR", "PG")):
            del env[k]
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(command(port), env=env, cwd=str(PROJECT_ROOT), stdout=out, stderr=subprocess.STDOUT,
                            preexec_fn=die_with_parent)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode})" + (f"; see {log}" if log else ""))
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text.strip() == "ok":
                return Dashboard(proc, url, api_url)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)   # Streamlit offers no readiness signal but its health URL
    Dashboard(proc, url, api_url).stop()
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s" + (f"; see {log}" if log else ""))


def serve(settings: Settings, port: int | None = None) -> int:
    stop = StopRequest("dashboard")
    try:
        dash = start(settings, port=port, log=settings.state_dir / "dashboard.log")
    except RuntimeError as exc:
        print(f"dashboard: could not start: {exc}", flush=True)
        return 1
    print(f"Dashboard: {dash.url} (public API {dash.api_url}; through nginx: "
          f"http://127.0.0.1:{settings.api_port}/)", flush=True)
    try:
        while dash.proc.poll() is None:
            if stop.wait(1):
                break
    finally:
        dash.stop()
    if not stop.requested:
        print("dashboard: streamlit exited", flush=True)
        return 1
    say("dashboard: stopped")
    return 0
