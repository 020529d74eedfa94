"""HTTP clients for the two upstreams, configured as the real hosts expect."""
from __future__ import annotations

import os

from milkbot.config import Settings
from workers.common.http import Client, TokenBucket
from workers.common.kalshi_auth import KalshiSigner


def nws_client(settings: Settings, *, timeout: float | None = None, transport=None) -> Client:
    return Client(settings.nws_base_url,
                  {"User-Agent": settings.nws_user_agent, "Accept": "application/geo+json"},
                  timeout=timeout or float(settings.extra.get("MILKBOT_HTTP_TIMEOUT", "15")),
                  attempts=int(settings.extra.get("MILKBOT_HTTP_ATTEMPTS", "3")),
                  backoff=float(settings.extra.get("MILKBOT_HTTP_BACKOFF", "1.0")), transport=transport)


def kalshi_signer(settings: Settings) -> KalshiSigner | None:
    """Market data is public; a key (if configured) is used only for the batched orderbook call.
    Paper mode never loads a key."""
    if settings.mode == "paper":
        return None
    key_id, key_file = settings.extra.get("MILKBOT_KALSHI_KEY_ID"), settings.extra.get("MILKBOT_KALSHI_KEY_FILE")
    if key_id and key_file:
        return KalshiSigner.from_file(key_id, key_file)
    return None


def kalshi_client(settings: Settings, *, timeout: float | None = None, signer=None, transport=None) -> Client:
    reads_per_s = float(settings.extra.get("MILKBOT_KALSHI_READS_PER_S", "20"))  # Basic tier: ~20 reads/s
    return Client(settings.kalshi_base_url, {"Accept": "application/json", "User-Agent": "milkbot"},
                  timeout=timeout or float(settings.extra.get("MILKBOT_HTTP_TIMEOUT", "15")),
                  attempts=int(settings.extra.get("MILKBOT_HTTP_ATTEMPTS", "3")),
                  backoff=float(settings.extra.get("MILKBOT_HTTP_BACKOFF", "1.0")),
                  bucket=TokenBucket(reads_per_s, 2 * reads_per_s), signer=signer, transport=transport)
