"""Configuration: environment variables (optionally from a `.env` file in the project root).

Every setting has a documented default (README, "Configuration"). Nothing secret is ever printed:
`Settings.describe()` masks passwords in URLs and never reads key files.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    """Process environment over `.env` (the environment wins, as operators expect)."""
    merged: dict[str, str] = {}
    env_file = Path(os.environ.get("MILKBOT_ENV_FILE", PROJECT_ROOT / ".env"))
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def mask_url(url: str) -> str:
    """Hide the password part of a libpq URL."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    db_name: str
    pg_port: int
    pg_bin: str | None
    pg_os_user: str
    state_dir: Path
    mode: str
    nws_base_url: str
    kalshi_base_url: str
    nws_user_agent: str
    api_port: int
    postgrest_port: int
    dashboard_port: int = 8501
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def embedded(self) -> bool:
        """True when the project owns its own Postgres cluster (no MILKBOT_DATABASE_URL)."""
        return not self.database_url


KALSHI_HOSTS = {
    "paper": "https://external-api.kalshi.com/trade-api/v2",   # market data only; paper never trades
    "demo": "https://external-api.demo.kalshi.co/trade-api/v2",
    "live": "https://external-api.kalshi.com/trade-api/v2",
}


def load() -> Settings:
    env = _env()
    mode = env.get("MILKBOT_MODE", "paper")
    if mode not in KALSHI_HOSTS:
        raise SystemExit(f"MILKBOT_MODE must be one of paper, demo, live (got {mode!r})")
    return Settings(
        database_url=env.get("MILKBOT_DATABASE_URL") or None,
        db_name=env.get("MILKBOT_DB_NAME", "milkbot"),
        pg_port=int(env.get("MILKBOT_PG_PORT", "54329")),
        pg_bin=env.get("MILKBOT_PG_BIN") or None,
        pg_os_user=env.get("MILKBOT_PG_OS_USER", "milkbot"),
        state_dir=Path(env.get("MILKBOT_STATE_DIR", PROJECT_ROOT / ".milkbot")),
        mode=mode,
        nws_base_url=env.get("MILKBOT_NWS_BASE_URL", "https://api.weather.gov"),
        kalshi_base_url=env.get("MILKBOT_KALSHI_BASE_URL", KALSHI_HOSTS[mode]),
        nws_user_agent=env.get("MILKBOT_NWS_USER_AGENT", "(milkbot, operator@example.invalid)"),
        api_port=int(env.get("MILKBOT_API_PORT", "8000")),
        postgrest_port=int(env.get("MILKBOT_POSTGREST_PORT", "3000")),
        dashboard_port=int(env.get("MILKBOT_DASHBOARD_PORT", "8501")),
        extra={k: v for k, v in env.items() if k.startswith("MILKBOT_")},
    )
