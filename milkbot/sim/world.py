"""A small deterministic weather-and-markets world that both fakes serve, so the NWS forecast and the
Kalshi ladders agree. Values vary by city and day but are reproducible (no randomness)."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from milkbot import clock


@dataclass(frozen=True)
class SimCity:
    code: str
    icao: str
    lat: float
    lon: float
    std_hours: int
    zone: str
    cli: str
    station_name: str
    wfo: str
    gx: int
    gy: int
    high_series: str
    low_series: str
    base_high: int


CITIES = [
    SimCity("NYC", "KNYC", 40.78333, -73.96667, -5, "America/New_York", "NYC", "CENTRAL PARK NY", "OKX", 34, 45, "KXHIGHNY", "KXLOWTNYC", 52),
    SimCity("BOS", "KBOS", 42.36056, -71.01056, -5, "America/New_York", "BOS", "BOSTON", "BOX", 73, 101, "KXHIGHTBOS", "KXLOWTBOS", 48),
    SimCity("PHL", "KPHL", 39.87327, -75.22678, -5, "America/New_York", "PHL", "PHILADELPHIA", "PHI", 48, 75, "KXHIGHPHIL", "KXLOWTPHIL", 54),
    SimCity("CHI", "KMDW", 41.78417, -87.75528, -6, "America/Chicago", "MDW", "CHICAGO MIDWAY", "LOT", 72, 69, "KXHIGHCHI", "KXLOWTCHI", 45),
    SimCity("DEN", "KDEN", 39.84658, -104.65622, -7, "America/Denver", "DEN", "DENVER", "BOU", 75, 66, "KXHIGHDEN", "KXLOWTDEN", 50),
    SimCity("LAX", "KLAX", 33.93806, -118.38889, -8, "America/Los_Angeles", "LAX", "LOS ANGELES AIRPORT", "LOX", 149, 41, "KXHIGHLAX", "KXLOWTLAX", 68),
    SimCity("SFO", "KSFO", 37.61961, -122.36558, -8, "America/Los_Angeles", "SFO", "SAN FRANCISCO AIRPORT", "MTR", 85, 98, "KXHIGHTSFO", "KXLOWTSFO", 61),
    SimCity("SEA", "KSEA", 47.44472, -122.31361, -8, "America/Los_Angeles", "SEA", "SEATTLE", "SEW", 124, 60, "KXHIGHTSEA", "KXLOWTSEA", 49),
    SimCity("AUS", "KAUS", 30.18304, -97.67987, -6, "America/Chicago", "AUS", "AUSTIN BERGSTROM", "EWX", 158, 87, "KXHIGHAUS", "KXLOWTAUS", 70),
    SimCity("MIA", "KMIA", 25.79056, -80.31639, -5, "America/New_York", "MIA", "MIAMI", "MFL", 105, 51, "KXHIGHMIA", "KXLOWTMIA", 80),
]
BY_CODE = {c.code: c for c in CITIES}
# Monthly series the fake lists (GET /series), as seen live (kalshi-api.md §5): rain KXRAIN<CITY>M for
# eight of the cities, snow KX<CITY>SNOWM for four; and two series of a city Milkbot does not trade.
MONTHLY_RAIN = ("NYC", "CHI", "DEN", "LAX", "MIA", "SEA", "SFO", "AUS")
MONTHLY_SNOW = ("NYC", "CHI", "DEN", "BOS")
OTHER_SERIES = ("KXRAINHOUM", "KXHIGHHOU")
RAIN_THRESHOLDS = {1: "0.85", 2: "0.62", 3: "0.38", 4: "0.21", 5: "0.11", 6: "0.05"}   # "above X inches": fair YES
SNOW_THRESHOLDS = {1: "0.30", 3: "0.14", 6: "0.06", 12: "0.02"}


def monthly_series() -> list[tuple[str, "SimCity", str]]:
    return ([(f"KXRAIN{c}M", BY_CODE[c], "monthly_rain") for c in MONTHLY_RAIN]
            + [(f"KX{c}SNOWM", BY_CODE[c], "monthly_snow") for c in MONTHLY_SNOW])


NO_MONTHLY: list = []


def _jitter(*parts) -> int:
    """Deterministic small integer in [-3, 3] from the parts."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16) % 7 - 3


def f_to_c(f: float) -> float:
    return (f - 32) * 5 / 9


@dataclass
class World:
    now_fixed: datetime | None = None
    issued_lag: timedelta = timedelta(hours=1)
    settled: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the monthly rain/snow series and markets (issue 27): the demo lists them; tests opt in, so the daily
    # world the rest of the suite counts on is unchanged
    monthly: bool = False

    def monthly_series(self) -> list[tuple[str, SimCity, str]]:
        return monthly_series() if self.monthly else NO_MONTHLY

    def now(self) -> datetime:
        return self.now_fixed or clock.now().replace(microsecond=0)

    def std_offset(self, city: SimCity) -> timedelta:
        return timedelta(hours=city.std_hours)

    def today(self, city: SimCity) -> date:
        return (self.now() + self.std_offset(city)).date()

    def high(self, city: SimCity, day: date) -> int:
        return city.base_high + _jitter(city.code, day, "high")

    def low(self, city: SimCity, day: date) -> int:
        return self.high(city, day) - 12 + _jitter(city.code, day, "low")

    def day_start(self, city: SimCity, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) - self.std_offset(city)

    def temp_at(self, city: SimCity, at: datetime) -> float:
        """A diurnal curve: the low at 06:00 LST, the high at 15:00 LST."""
        local = at + self.std_offset(city)
        day = local.date()
        h = local.hour + local.minute / 60
        lo, hi = self.low(city, day), self.high(city, day)
        if 6 <= h <= 15:
            return lo + (hi - lo) * (h - 6) / 9
        nxt = self.low(city, day + timedelta(days=1)) if h > 15 else lo
        prev_hi = hi if h > 15 else self.high(city, day - timedelta(days=1))
        span = (h - 15) if h > 15 else (h + 9)
        return prev_hi + (nxt - prev_hi) * span / 15

    # -- markets ----------------------------------------------------------------------------------
    def ladder(self, city: SimCity, day: date, kind: str) -> list[dict]:
        """Six brackets around the forecast: <=c-4 | c-3..c-2 | c-1..c | c+1..c+2 | c+3..c+4 | >=c+5."""
        c = self.high(city, day) if kind == "high" else self.low(city, day)
        series = city.high_series if kind == "high" else city.low_series
        event = f"{series}-{day:%y}{day.strftime('%b').upper()}{day:%d}"
        out = [{"ticker": f"{event}-T{c - 3}", "event": event, "strike_type": "less", "floor": None, "cap": c - 3,
                "yes": f"{c - 4}° or below", "centre": c}]
        for i in range(1, 5):
            lo = c - 5 + 2 * i
            out.append({"ticker": f"{event}-B{lo + 0.5}", "event": event, "strike_type": "between", "floor": lo,
                        "cap": lo + 1, "yes": f"{lo}° to {lo + 1}°", "centre": c})
        out.append({"ticker": f"{event}-T{c + 4}", "event": event, "strike_type": "greater", "floor": c + 4, "cap": None,
                    "yes": f"{c + 5}° or above", "centre": c})
        return out

    def monthly_ladder(self, series: str, kind: str, month: date) -> list[dict]:
        """This month's thresholds: 'above X inches' (strike_type greater, floor X), a cumulative ladder."""
        event = f"{series}-{month:%y}{month.strftime('%b').upper()}"
        table = RAIN_THRESHOLDS if kind == "monthly_rain" else SNOW_THRESHOLDS
        return [{"ticker": f"{event}-{x}", "event": event, "strike_type": "greater", "floor": x, "cap": None,
                 "yes": f"above {x} inches", "fair": Decimal(p), "month": month} for x, p in table.items()]

    def fair_yes(self, b: dict) -> Decimal:
        """The fake market's own view: a coarse triangular ladder (deliberately not the bot's model)."""
        if "fair" in b:
            return b["fair"]
        weights = {"less": 6, "greater": 6}
        w = weights.get(b["strike_type"], 0) or {0: 22, 1: 30, 2: 26, 3: 16}.get(
            (b["floor"] - b["centre"] + 3) // 2, 10)
        return Decimal(w) / 100

    def quote(self, ticker: str, b: dict) -> tuple[Decimal, Decimal]:
        fair = self.fair_yes(b)
        bid = max(Decimal("0.01"), fair - Decimal("0.02"))
        ask = min(Decimal("0.99"), fair + Decimal("0.02"))
        return bid, ask

    def find_bracket(self, ticker: str) -> tuple[SimCity, date, str, dict] | None:
        for series, city, kind in self.monthly_series():
            if ticker.startswith(series + "-"):
                month = self.today(city).replace(day=1)
                for b in self.monthly_ladder(series, kind, month):
                    if b["ticker"] == ticker:
                        return city, month, kind, b
                return None
        for city in CITIES:
            for kind, series in (("high", city.high_series), ("low", city.low_series)):
                if ticker.startswith(series + "-"):
                    part = ticker.split("-")[1]
                    try:
                        day = datetime.strptime(part.title(), "%y%b%d").date()
                    except ValueError:
                        return None
                    for b in self.ladder(city, day, kind):
                        if b["ticker"] == ticker:
                            return city, day, kind, b
        return None
