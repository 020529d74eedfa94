"""Test wiring for the local fakes (milkbot.sim): start both on 127.0.0.1, build settings and clients
that point at them, and a signing key the fake exchange trusts."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric import rsa

from milkbot import config
from milkbot.sim.kalshi_fake import PREFIX, KalshiFake
from milkbot.sim.nws_fake import NwsFake
from milkbot.sim.world import World
from workers.common.kalshi_auth import KalshiSigner
from workers.ingest.sources import kalshi_client, nws_client



def recent_afternoon(at: datetime) -> datetime:
    """The latest 18:00 UTC at least two hours before `at`.

    The fake world and every test that drives time use this instant, so the suite follows the real date
    (the database's `now()` and dbt's delayed views agree with it) instead of a date that falls behind.
    18:00 UTC is the early afternoon in every Milkbot city, is never inside Kalshi's Thursday
    03:00-05:00 ET maintenance, and two hours back its fills are already public (60-minute delay)."""
    day = (at - timedelta(hours=20)).date()
    return datetime(day.year, day.month, day.day, 18, tzinfo=timezone.utc)


NOW = recent_afternoon(datetime.now(timezone.utc))


_KEYS: list = []


def _key():
    """One RSA key per test session: generating one costs ~0.1 s."""
    if not _KEYS:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[0]


class Fakes:
    def __init__(self, now: datetime = NOW, monthly: bool = False):
        self.world = World(now_fixed=now, monthly=monthly)
        self.key = _key()
        self.nws = NwsFake(self.world)
        self.kalshi = KalshiFake(self.world, public_key=self.key.public_key())
        self.nws_url = self.nws.start()
        self.kalshi_url = self.kalshi.start() + PREFIX
        base = config.load()
        self.settings = dataclasses.replace(
            base, nws_base_url=self.nws_url, kalshi_base_url=self.kalshi_url,
            extra={**base.extra, "MILKBOT_HTTP_TIMEOUT": "1", "MILKBOT_HTTP_ATTEMPTS": "3",
                   "MILKBOT_HTTP_BACKOFF": "0.05", "MILKBOT_KALSHI_READS_PER_S": "1000"})

    def ticker(self, city: str = "NYC", day=None, kind: str = "high", i: int = 2) -> str:
        """The i-th bracket of a city's ladder in the fake world (default: today's NYC high)."""
        from milkbot.sim.world import BY_CODE
        c = BY_CODE[city]
        return self.world.ladder(c, day or self.world.today(c), kind)[i]["ticker"]

    def signer(self) -> KalshiSigner:
        return KalshiSigner("fake-key-id", self.key)

    def clients(self, signed: bool = False):
        return (nws_client(self.settings),
                kalshi_client(self.settings, signer=self.signer() if signed else None))

    def stop(self):
        self.nws.stop()
        self.kalshi.stop()
