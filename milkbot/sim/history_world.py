"""The demo's world (issue 28 §1): real recorded days where they exist, a stated seeded generator elsewhere.

- **Days.** Sim day D is played by a recorded day H(D): the same calendar day in the history's year when
  the history has it for that city, else a recorded day picked by D's ordinal (so any date works).
- **Highs** settle on the official maximum of H(D) (`truth.csv`, all ten cities). **Lows** have no
  recorded truth: the settled low is the last real overnight forecast where one exists, else the high
  minus a seeded spread, plus seeded noise (synthetic).
- **Forecasts.** Where `forecasts.csv` has the city (NYC, BOS, DEN, LAX, MIA), the NWS fake serves the
  real forecast of H(D) that existed at the matching instant (issued_at shifted by D - H(D)); elsewhere a
  seeded error around the truth that shrinks with the lead (synthetic).
- **Markets.** The ladder is centred on the forecast at listing (D-1, 10:00 LST), so it never reveals the
  outcome. The market's own belief is a normal around the forecast, pulled toward the truth as the
  climate day passes (a trader who watches the thermometer), with its own seeded error per day -- so it is
  sometimes right where the model is wrong and sometimes not. Spreads 1-3 cents, sizes 10-90 contracts
  per level. The books follow that belief through the WebSocket fake (`SimMarketMaker`): a stale level
  the market moves through is taken and printed as a public trade, new levels are posted at the quote.
- **Recorded prices.** Where `../shared/data/prices/` has the recorded day's Kalshi markets (NYC highs,
  27 April - 14 July), the ladder is the recorded one under the sim day's tickers, the market quotes
  around the last recorded trade by the matching instant, and it settles on the recorded outcome.
- **Settlement.** A daily market settles (Kalshi `finalized`, result and expiration value) two hours
  after its climate day ends (the NWS fake's final CLI bulletin is out by then).

Without the history folder the same rules run on the small synthetic world of `world.World`
(`synthetic_only`), and `describe()` says so -- the dashboard's About shows it.
"""
from __future__ import annotations

import bisect
import csv
import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ..brackets import strikes_of
from .world import CITIES, World, _jitter

CENT = Decimal("0.01")
SETTLE_AFTER = timedelta(hours=2)          # after the climate day ends


def default_history_dir() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "history"


def _gauss(world: World, *parts) -> float:
    """A deterministic standard normal from the parts (Box-Muller on two seeded uniforms)."""
    u1 = max(world._u(*parts, "g1"), 1e-12)
    u2 = world._u(*parts, "g2")
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


class HistoryWorld(World):
    def __init__(self, history_dir: Path | None = None, **kw):
        super().__init__(**kw)
        self.truth: dict[str, dict[date, int]] = defaultdict(dict)
        # (city, kind 'high'/'low', recorded target day) -> sorted [(issued_at, value °F)]
        self.forecasts: dict[tuple[str, str, date], list[tuple[datetime, int]]] = defaultdict(list)
        self.history_dir = Path(history_dir) if history_dir else default_history_dir()
        self.synthetic_only = not (self.history_dir / "truth.csv").is_file()
        if not self.synthetic_only:
            self._load()
        # recorded Kalshi ladders and trade prices (../shared/data/prices): (city, kind, recorded day) ->
        # brackets with their outcome; recorded ticker -> [(end of the 5-minute candle, close in dollars)]
        self.recorded: dict[tuple[str, str, date], list[dict]] = {}
        self.closes: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
        if not self.synthetic_only:
            self._load_prices(self.history_dir.parent / "prices")
        self.truth_days = {c: sorted(d) for c, d in self.truth.items()}
        self.forecast_cities = sorted({c for c, _k, _d in self.forecasts})
        self._ladders: dict[tuple, list[dict]] = {}

    def _load(self) -> None:
        with open(self.history_dir / "truth.csv", newline="") as f:
            for r in csv.DictReader(f):
                if r["kind"] == "high" and r["value_f"].strip():
                    self.truth[r["city"]][date.fromisoformat(r["date"])] = int(round(float(r["value_f"])))
        path = self.history_dir / "forecasts.csv"
        if path.is_file():
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    kind = {"high": "high", "low_overnight": "low"}.get(r["kind"])
                    if kind and r["value_f"].strip():
                        at = datetime.fromisoformat(r["issued_at"].replace("Z", "+00:00"))
                        self.forecasts[(r["city"], kind, date.fromisoformat(r["target_date"]))].append((at, int(round(float(r["value_f"])))))
            for v in self.forecasts.values():
                v.sort()

    def _load_prices(self, folder: Path) -> None:
        series = {c.high_series: (c.code, "high") for c in CITIES} | {c.low_series: (c.code, "low") for c in CITIES}
        for path in sorted(folder.glob("*_markets_*.csv")):
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    where = series.get(r["event_ticker"].split("-")[0])
                    shape = bracket_of(r["subtitle"])
                    if not where or not shape or r["result"] not in ("yes", "no"):
                        continue
                    day = datetime.strptime(r["event_ticker"].split("-")[1].title(), "%y%b%d").date()
                    self.recorded.setdefault((where[0], where[1], day), []).append(
                        {**shape, "rec_ticker": r["market_ticker"], "rec_result": r["result"],
                         "suffix": r["market_ticker"].split("-", 2)[2]})
        wanted = {b["rec_ticker"] for v in self.recorded.values() for b in v}
        for path in sorted(folder.glob("*_candles_*.csv")):
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    if r["ticker"] in wanted and r["close"].strip():
                        end = datetime.fromisoformat(r["start"]) + timedelta(minutes=5)
                        self.closes[r["ticker"]].append((end, Decimal(r["close"]) / 100))
        for v in self.closes.values():
            v.sort()

    def describe(self) -> str:
        if self.synthetic_only:
            return ("Its world is synthetic: the history of real forecasts and outcomes (../shared/data/history) "
                    "was not found, so temperatures, forecasts and markets come from a small seeded generator.")
        real = ", ".join(self.forecast_cities) or "none"
        priced = sorted({f"{c} {k}" for c, k, _d in self.recorded})
        prices = (f" On days with recorded Kalshi prices ({', '.join(priced)}: {len(self.recorded)} days) the ladder is "
                  "the real one and the market quotes around its recorded trades." if priced else "")
        return ("Each simulated day replays a real recorded day: the highs settle on the official maxima of that day "
                "(NWS climate data, all ten cities) and the forecasts are the real NWS forecasts as they were issued "
                f"for {real} (elsewhere, and for every low, seeded synthetic forecasts around the truth). The market "
                "prices, order books and other traders are synthetic: a seeded market that follows the forecast and "
                f"learns the outcome as the day passes.{prices} Paper money; the clock runs faster than real time.")

    # -- days --------------------------------------------------------------------------------------
    def recorded_day(self, city, day: date) -> date | None:
        days = self.truth_days.get(city.code)
        if not days:
            return None
        year = days[len(days) // 2].year
        try:
            same = day.replace(year=year)
        except ValueError:                      # 29 February
            same = day.replace(year=year, day=28)
        if same in self.truth[city.code]:
            return same
        return days[day.toordinal() % len(days)]

    def _synthetic_error(self, city, day: date, kind: str, at: datetime) -> float:
        """A seeded forecast error: a per-day part that grows with the lead, and a per-issue wiggle
        (a new issue every six hours)."""
        lead = max(0.0, (self.day_start(city, day) - at).total_seconds() / 86400)
        issue = int(at.timestamp() // 21600)
        return _gauss(self, city.code, day, kind, "err") * (1.6 + 0.5 * lead) + 0.6 * _gauss(self, city.code, day, kind, issue)

    # -- the truth ---------------------------------------------------------------------------------
    def high(self, city, day: date) -> int:
        h = self.recorded_day(city, day)
        return self.truth[city.code][h] if h is not None else super().high(city, day)

    def low(self, city, day: date) -> int:
        h = self.recorded_day(city, day)
        real = self.forecasts.get((city.code, "low", h)) if h is not None else None
        base = real[-1][1] if real else self.high(city, day) - 12 - abs(_jitter(city.code, day, "spread")) * 2
        return min(self.high(city, day) - 3, base + round(1.8 * _gauss(self, city.code, day, "low-truth")))

    # -- forecasts ---------------------------------------------------------------------------------
    def _forecast(self, city, day: date, kind: str, at: datetime) -> int:
        h = self.recorded_day(city, day)
        real = self.forecasts.get((city.code, kind, h)) if h is not None else None
        if real:
            shifted = at - (day - h)                                   # the matching recorded instant
            i = bisect.bisect_right(real, (shifted, 10 ** 6))
            return real[max(i - 1, 0)][1]                            # before the first issue: the earliest
        truth = self.high(city, day) if kind == "high" else self.low(city, day)
        return round(truth + self._synthetic_error(city, day, kind, at))

    def forecast_high(self, city, day: date, at: datetime | None = None) -> int:
        return self._forecast(city, day, "high", at or self.now())

    def forecast_low(self, city, day: date, at: datetime | None = None) -> int:
        return self._forecast(city, day, "low", at or self.now())

    def forecast_temp_at(self, city, at: datetime) -> float:
        return self._curve(city, at, self.forecast_high, self.forecast_low)

    # -- markets -----------------------------------------------------------------------------------
    def listed_at(self, city, day: date) -> datetime:
        return self.day_start(city, day) - timedelta(hours=14)       # D-1, 10:00 LST (open_time)

    def ladder(self, city, day: date, kind: str) -> list[dict]:
        """Centred on the forecast at listing -- fixed for the market's life, blind to the outcome."""
        key = (city.code, day, kind)
        h = self.recorded_day(city, day)
        if key not in self._ladders and (city.code, kind, h) in self.recorded:
            # the recorded ladder of that day, under the sim day's event ticker
            series = city.high_series if kind == "high" else city.low_series
            event = f"{series}-{day:%y}{day.strftime('%b').upper()}{day:%d}"
            rec = sorted(self.recorded[(city.code, kind, h)], key=lambda b: (b["floor"] is not None, b["floor"] or 0))
            self._ladders[key] = [{**b, "ticker": f"{event}-{b['suffix']}", "event": event, "centre": None,
                                   "sim_city": city, "sim_day": day, "sim_kind": kind, "shift": day - h} for b in rec]
        if key not in self._ladders:
            at = self.listed_at(city, day)
            c = self.forecast_high(city, day, at) if kind == "high" else self.forecast_low(city, day, at)
            self._ladders[key] = [{**b, "sim_city": city, "sim_day": day, "sim_kind": kind}
                                  for b in self._shape(city, day, kind, c)]
        return self._ladders[key]

    def _known_share(self, city, day: date, kind: str, at: datetime) -> float:
        """How much of the outcome the thermometer has shown by `at` (0 before the climate day, 1 once the
        extreme is in): the high climbs to its peak at 15:00 LST, the low is set by about 08:00 -- what
        anyone watching the observations knows, the bot included."""
        hours = (at - self.day_start(city, day)).total_seconds() / 3600
        span = (6, 15) if kind == "high" else (0, 8)
        x = min(1.0, max(0.0, (hours - span[0]) / (span[1] - span[0])))
        return x * x
    def market_view(self, city, day: date, kind: str, at: datetime) -> tuple[float, float]:
        """The market's mean and sd of the outcome, °F: the current forecast plus a little of the truth
        before the day (it reads more than one model), its own seeded error, pulled toward the truth as
        the day passes."""
        f = self.forecast_high(city, day, at) if kind == "high" else self.forecast_low(city, day, at)
        t = self.high(city, day) if kind == "high" else self.low(city, day)
        a = self._known_share(city, day, kind, at)
        own = 1.0 * _gauss(self, city.code, day, kind, "market")
        mean = f + 0.15 * (t - f) + own
        mean = mean + a * (t - mean)
        return mean, 0.15 + 2.3 * (1 - a)

    def fair_yes(self, b: dict) -> Decimal:
        if "sim_city" not in b:
            return super().fair_yes(b)
        city, day, kind = b["sim_city"], b["sim_day"], b["sim_kind"]
        if "rec_ticker" in b:       # a recorded market: its last recorded trade by the matching instant
            closes = self.closes.get(b["rec_ticker"], [])
            i = bisect.bisect_right(closes, (self.now() - b["shift"], Decimal(2)))
            if i:
                return min(Decimal("0.99"), max(Decimal("0.01"), closes[i - 1][1]))
        mean, sd = self.market_view(city, day, kind, self.now())

        def cdf(x: float) -> float:
            return 0.5 * math.erfc(-(x - mean) / (sd * math.sqrt(2)))
        lo, hi = self.bounds(b)
        p = (1.0 if hi == math.inf else cdf(hi)) - (0.0 if lo == -math.inf else cdf(lo))
        return min(Decimal("0.99"), max(Decimal("0.01"), Decimal(str(round(p, 2)))))

    def quote(self, ticker: str, b: dict) -> tuple[Decimal, Decimal]:
        fair = self.fair_yes(b)
        half = CENT * (1 + int(self._u(ticker, "spread") * 2))        # 1 or 2 cents a side
        return max(CENT, fair - half), min(Decimal("0.99"), fair + half)

    pin_books = True

    def level_size(self, ticker: str, side: str, i: int) -> Decimal:
        return Decimal(10 + int(self._u(ticker, side, i) * 80))

    # -- settlement --------------------------------------------------------------------------------
    def expected_expiration(self, city, day: date) -> datetime:
        return self.day_start(city, day) + timedelta(days=1) + SETTLE_AFTER

    def result(self, ticker: str) -> str:
        found = self.find_bracket(ticker)
        if not found or "sim_city" not in found[3]:
            return ""
        city, day, kind, b = found
        if self.now() < self.day_start(city, day) + timedelta(days=1) + SETTLE_AFTER:
            return ""
        if "rec_result" in b:
            return b["rec_result"]                      # the recorded market's outcome of record
        v = self.high(city, day) if kind == "high" else self.low(city, day)
        lo, hi = self.bounds(b)
        return "yes" if lo < v < hi else "no"

    @staticmethod
    def bounds(b: dict) -> tuple[float, float]:
        """A bracket as an open interval of whole degrees' edges: 'less than 41' is below 40.5, 'greater
        than 48' above 48.5, '41 to 42' from 40.5 to 42.5 (Kalshi's strikes: tails strict, between inclusive)."""
        if b["strike_type"] == "less":
            return -math.inf, b["cap"] - 0.5
        if b["strike_type"] == "greater":
            return b["floor"] + 0.5, math.inf
        return b["floor"] - 0.5, b["cap"] + 0.5


def bracket_of(subtitle: str) -> dict | None:
    """A recorded market's bracket from its subtitle, in the fake's terms (strikes as Kalshi sets them:
    milkbot.brackets.strikes_of)."""
    terms = strikes_of(subtitle)
    if terms is None:
        return None
    return {"strike_type": terms[0], "floor": terms[1], "cap": terms[2], "yes": subtitle}


class SimMarketMaker:
    """Sim only: the books follow the market's belief. Every step, each open daily market whose quote has
    moved is re-anchored through the WebSocket fake: bids the new quote has passed are taken (a taker
    trading on the news -- printed as a public trade, what fills resting paper orders), and fresh size is
    posted at the new best bid of each side. Between re-anchorings the seeded random walk of `BookMover`
    adds and takes liquidity. It never crosses a book."""

    def __init__(self, world: HistoryWorld, ws, mover):
        self.world, self.ws, self.mover = world, ws, mover
        self.reanchored = 0

    def open_markets(self) -> list[tuple[str, dict]]:
        out = []
        for city in CITIES:
            today = self.world.today(city)
            for day in (today, today + timedelta(days=1)):
                if self.world.now() >= self.world.day_start(city, day) + timedelta(days=1):
                    continue
                for kind in ("high", "low"):
                    out += [(b["ticker"], b) for b in self.world.ladder(city, day, kind)]
        return out

    def step(self) -> None:
        for ticker, b in self.open_markets():
            bid, ask = self.world.quote(ticker, b)
            lv = self.world.levels(ticker)
            if lv is None:
                continue
            moved = False
            # YES bids above the new bid, NO bids above the new NO bid (1 - ask): taken on the news
            for side, best in (("yes", bid), ("no", 1 - ask)):
                taker = "no" if side == "yes" else "yes"
                for price in sorted((p for p in lv[side] if p > best), reverse=True):
                    qty = lv[side][price]
                    self.ws.change(ticker, side, price, -qty)
                    self.mover.printed.append((self.ws.trade(ticker, price if side == "yes" else 1 - price, qty, taker), ticker))
                    moved = True
            lv = self.world.levels(ticker)
            for side, best, other in (("yes", bid, "no"), ("no", 1 - ask, "yes")):
                top_other = max(lv[other], default=Decimal(0))
                if best <= 0 or best + top_other >= 1:
                    continue
                if max(lv[side], default=Decimal(0)) < best:
                    self.ws.change(ticker, side, best, Decimal(10 + int(self.world._u(ticker, side, self.world.now()) * 80)))
                    moved = True
            self.reanchored += moved
