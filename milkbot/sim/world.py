"""A small deterministic weather-and-markets world that both fakes serve, so the NWS forecast and the
Kalshi ladders agree. Values vary by city and day but are reproducible (no randomness)."""
from __future__ import annotations

import hashlib
import math
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
# The sim's precipitation climate (synthetic, stated): each city's month normal, inches, rounded from
# NOAA 1991-2020 December normals and used for every month; the share of wet days; snow where it falls.
RAIN_NORMAL = {"NYC": 4.4, "BOS": 4.1, "PHL": 3.8, "CHI": 2.3, "DEN": 0.4, "LAX": 2.3, "SFO": 3.9, "SEA": 5.5,
               "AUS": 2.5, "MIA": 2.2}
SNOW_NORMAL = {"NYC": 4.8, "BOS": 9.0, "PHL": 3.4, "CHI": 8.0, "DEN": 8.6, "SEA": 1.0}
WET_SHARE = {"NYC": 0.35, "BOS": 0.37, "PHL": 0.33, "CHI": 0.35, "DEN": 0.15, "LAX": 0.12, "SFO": 0.30, "SEA": 0.60,
             "AUS": 0.22, "MIA": 0.25}
THRESHOLD_SHARES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)   # a month's "above X" ladder, as shares of the normal


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
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = field(default_factory=dict)   # books changed since the quote
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
        return self._curve(city, at, self.high, self.low)

    def _curve(self, city: SimCity, at: datetime, high, low) -> float:
        local = at + self.std_offset(city)
        day = local.date()
        h = local.hour + local.minute / 60
        lo, hi = low(city, day), high(city, day)
        if 6 <= h <= 15:
            return lo + (hi - lo) * (h - 6) / 9
        nxt = low(city, day + timedelta(days=1)) if h > 15 else lo
        prev_hi = hi if h > 15 else high(city, day - timedelta(days=1))
        span = (h - 15) if h > 15 else (h + 9)
        return prev_hi + (nxt - prev_hi) * span / 15

    # -- what the NWS fake forecasts (this world: the truth itself; the sim's real-days world: real
    # forecasts) and what the exchange fake settles (this world: only what a test settles by hand)
    def forecast_high(self, city: SimCity, day: date) -> int:
        return self.high(city, day)

    def forecast_low(self, city: SimCity, day: date) -> int:
        return self.low(city, day)

    def forecast_temp_at(self, city: SimCity, at: datetime) -> float:
        return self.temp_at(city, at)

    def result(self, ticker: str) -> str:
        """'yes' / 'no' once the exchange has settled the market, else ''."""
        return ""

    def expected_expiration(self, city: SimCity, day: date) -> datetime:
        """When the exchange expects to settle a daily market (14:00 LST the day after)."""
        return self.day_start(city, day) + timedelta(days=1, hours=14)

    # -- markets ----------------------------------------------------------------------------------
    def ladder(self, city: SimCity, day: date, kind: str) -> list[dict]:
        """Six brackets around the forecast: <=c-4 | c-3..c-2 | c-1..c | c+1..c+2 | c+3..c+4 | >=c+5."""
        return self._shape(city, day, kind, self.high(city, day) if kind == "high" else self.low(city, day))

    def _shape(self, city: SimCity, day: date, kind: str, c: int) -> list[dict]:
        """The six brackets around a centre c (the sim's ladder: the real-days world centres it on the
        forecast at listing, this one on the outcome)."""
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

    # -- precipitation (the Monthly markets) ---------------------------------------------------------
    @staticmethod
    def _u(*parts) -> float:
        """Deterministic uniform in [0, 1) from the parts."""
        return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16) / 16 ** 12

    @staticmethod
    def days_in_month(day: date) -> int:
        return ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day

    def normal(self, city: SimCity, kind: str) -> float:
        return (RAIN_NORMAL if kind == "monthly_rain" else SNOW_NORMAL).get(city.code, 0.0)

    def amount(self, city: SimCity, day: date, kind: str) -> Decimal:
        """The day's rain (0.01 in) or snowfall (0.1 in): wet on WET_SHARE of days (snow: 40 % of those),
        an exponential amount whose mean keeps the month on its normal."""
        share = WET_SHARE[city.code] * (1 if kind == "monthly_rain" else 0.4)
        normal = self.normal(city, kind)
        if normal <= 0 or self._u(city.code, day, kind, "wet") >= share:
            return Decimal(0)
        mean_wet = normal / (self.days_in_month(day) * share)
        x = -mean_wet * math.log(1 - self._u(city.code, day, kind, "amount"))
        return Decimal(str(round(x, 2 if kind == "monthly_rain" else 1)))

    def month_to_date(self, city: SimCity, day: date, kind: str) -> Decimal:
        return sum((self.amount(city, day.replace(day=d), kind) for d in range(1, day.day + 1)), Decimal(0))

    def pop_qpf(self, city: SimCity, day: date) -> tuple[int, float, float]:
        """The fake forecast of a day: PoP % and expected rain and snowfall, inches (right more often than not)."""
        rain, snow = self.amount(city, day, "monthly_rain"), self.amount(city, day, "monthly_snow")
        u = self._u(city.code, day, "pop")
        if rain > 0 or snow > 0:
            return int(40 + 50 * u), float(rain) * (0.6 + 0.8 * u), float(snow) * (0.6 + 0.8 * u)
        return int(30 * u), (0.02 if u > 0.8 else 0.0), 0.0

    def monthly_thresholds(self, city: SimCity, kind: str) -> list[Decimal]:
        normal = self.normal(city, kind)
        grain = Decimal("0.5") if normal >= 3 else Decimal("0.1")
        return sorted({max(grain, (Decimal(str(normal * f)) / grain).quantize(Decimal(1)) * grain).normalize()
                       for f in THRESHOLD_SHARES})

    def monthly_ladder(self, series: str, kind: str, month: date) -> list[dict]:
        """This month's thresholds: 'above X inches' (strike_type greater, floor X), a cumulative ladder."""
        event = f"{series}-{month:%y}{month.strftime('%b').upper()}"
        city = next(c for s, c, _k in self.monthly_series() if s == series)
        return [{"ticker": f"{event}-{x:f}", "event": event, "strike_type": "greater", "floor": float(x), "cap": None,
                 "yes": f"above {x:f} inches", "month": month, "city": city, "kind": kind}
                for x in self.monthly_thresholds(city, kind)]

    def monthly_fair(self, b: dict) -> Decimal:
        """The fake market's view of "above X": the true month to date (through yesterday) plus a normal
        remainder with a Poisson-like spread -- knows the past, not the forecast (not the bot's model)."""
        city, kind, month = b["city"], b["kind"], b["month"]
        today = self.today(city)
        dim = self.days_in_month(month)
        done = (today - month).days if today.replace(day=1) == month else dim
        mtd = float(self.month_to_date(city, month.replace(day=done), kind)) if done > 0 else 0.0
        rest = self.normal(city, kind) * (dim - done) / dim
        if mtd > b["floor"]:
            return Decimal("0.99")
        if rest <= 0:
            return Decimal("0.01")
        sd = math.sqrt(rest * 0.7)
        p = 0.5 * math.erfc((b["floor"] - mtd - rest) / (sd * math.sqrt(2)))
        return min(Decimal("0.99"), max(Decimal("0.01"), Decimal(str(round(p, 2)))))

    def fair_yes(self, b: dict) -> Decimal:
        """The fake market's own view: a coarse triangular ladder (deliberately not the bot's model)."""
        if "kind" in b:
            return self.monthly_fair(b)
        weights = {"less": 6, "greater": 6}
        w = weights.get(b["strike_type"], 0) or {0: 22, 1: 30, 2: 26, 3: 16}.get(
            (b["floor"] - b["centre"] + 3) // 2, 10)
        return Decimal(w) / 100

    def quote(self, ticker: str, b: dict) -> tuple[Decimal, Decimal]:
        fair = self.fair_yes(b)
        bid = max(Decimal("0.01"), fair - Decimal("0.02"))
        ask = min(Decimal("0.99"), fair + Decimal("0.02"))
        return bid, ask

    # -- order books (the REST and WebSocket fakes serve the same ones) ------------------------------
    def levels(self, ticker: str) -> dict[str, dict[Decimal, Decimal]] | None:
        """The market's book: bids per side ({"yes": {price: contracts}, "no": {...}}). Until something
        changes it, three levels of 50 each side at and behind the world's quote."""
        with self.lock:
            book = self.books.get(ticker)
            if book is not None:
                return {side: dict(lv) for side, lv in book.items()}
        found = self.find_bracket(ticker)
        if not found:
            return None
        bid, ask = self.quote(ticker, found[3])
        step = Decimal("0.01")
        fresh = {"yes": {bid - step * i: self.level_size(ticker, "yes", i) for i in range(3) if bid - step * i > 0},
                 "no": {(1 - ask) - step * i: self.level_size(ticker, "no", i) for i in range(3) if (1 - ask) - step * i > 0}}
        if not self.pin_books:
            return fresh
        with self.lock:       # pinned when first seen: from then on only the fakes' deltas change it
            book = self.books.setdefault(ticker, fresh)
            return {side: dict(lv) for side, lv in book.items()}

    # this world's untouched books follow its quote; the real-days world pins each book when first seen,
    # so the feed (deltas) and REST always agree while its market maker moves the quotes
    pin_books = False

    def level_size(self, ticker: str, side: str, i: int) -> Decimal:
        return Decimal("50.00")

    def top(self, ticker: str) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
        """Best YES bid and its size, YES ask (1 - best NO bid) and its size, from the book."""
        lv = self.levels(ticker) or {"yes": {}, "no": {}}
        yb = max(lv["yes"], default=None)
        nb = max(lv["no"], default=None)
        return (yb, lv["yes"][yb] if yb is not None else None,
                1 - nb if nb is not None else None, lv["no"][nb] if nb is not None else None)

    def change_book(self, ticker: str, side: str, price: Decimal, delta: Decimal) -> Decimal:
        """Add delta contracts at a level (negative: taken or cancelled); returns what is left there."""
        current = self.levels(ticker)
        if current is None:
            raise KeyError(ticker)
        with self.lock:
            book = self.books.setdefault(ticker, current)
            left = book[side].get(price, Decimal(0)) + delta
            if left < 0:
                raise ValueError(f"{ticker} {side} {price}: {delta} leaves {left}")
            if left == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = left
            return left

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
