"""`milkbot backtest --prices DIR --history DIR`: the live cycle replayed over recorded prices.

    history CSVs + recorded markets and trade candles -> scratch database (migrated like production)
    -> at each decision time T, in time order: the recorded world at T (ops.replay_world_at: settlements
       known by T, traded volume, forecasts current at T, exchange open) -> the paper exchange fills what
       traded before T -> ops.run_cycle(T), the live cycle -> the executor (workers/executor, the paper
       broker) submits, cancels and decreases at T + 1 s
    -> settled at the end -> per signal and per order rows from SQL -> scores, P&L, intervals, charts

Python moves files in and results out and keeps the clock; every decision and every fill is the SQL the
live system runs. The recorded prices are trade candles, not books: the cycle prices on a quote derived
from the last trade (± a stated half spread, `--half-spread-cents`), orders rest (good-till-cancelled:
there is no recorded book to take from) and fill only when a later candle traded at or through their price
(ops.paper_match_candles) — optimistic, and the report says so.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from . import config
from .backtest import DECISIONS, HistoryError, Scratch, load as load_history, read_history, truth_known_at
from .brackets import strikes_of
from .db import Database
from workers.executor.brokers import PaperBroker
from workers.executor.main import Executor

MARKET_COLUMNS = ["event_ticker", "market_ticker", "subtitle", "status", "result", "close_time"]
CANDLE_COLUMNS = ["market_id", "ticker", "start", "open", "high", "low", "close", "count"]
# `milkbot tape export`'s files: every top of book the feed recorded and every public trade (dollars, UTC)
QUOTE_COLUMNS = ["ticker", "at", "yes_bid", "yes_bid_size", "yes_ask", "yes_ask_size"]
TICK_COLUMNS = ["trade_id", "ticker", "created_time", "yes_price", "count", "taker_side"]
# top-of-book ticks as third-party recorders write them: Kalshi's two bid ladders' best levels (a yes ask
# is 1 - the best no bid), the sizes under the first name found, other columns ignored
TOP_COLUMNS = ["timestamp", "market_ticker", "best_yes_bid", "best_no_bid"]
TOP_SIZES = {"yes": ("best_yes_bid_size", "yes_bid_size", "best_yes_bid_qty"),
             "no": ("best_no_bid_size", "no_bid_size", "best_no_bid_qty")}
EASTERN = ZoneInfo("America/New_York")
MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
# fewer settled days than this and the report says plainly that nothing can be concluded
MIN_DAYS_TO_CONCLUDE = 30
EDGE_BUCKETS = [(None, 0.03), (0.03, 0.06), (0.06, 0.10), (0.10, 0.20), (0.20, None)]


class PriceError(HistoryError):
    """A price file that does not match the documented schema."""


@dataclass(frozen=True)
class RecordedMarket:
    ticker: str
    event_ticker: str
    series: str
    day: date
    strike_type: str
    floor: int | None
    cap: int | None
    close_time: datetime
    result: str          # 'yes' / 'no', or '' when not settled in the recording


@dataclass(frozen=True)
class Candle:
    ticker: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    count: Decimal


@dataclass(frozen=True)
class TickFormat:
    """How to read third-party top-of-book ticks: the time zone of a timestamp without an offset (None: every
    timestamp must carry one, or be Unix epoch seconds/milliseconds), the price unit, and the size assumed
    at every level when the file records none (None: a file without sizes is refused -- the paper exchange
    fills at most the recorded size, and a made-up size must be a stated choice)."""
    tz: ZoneInfo | None = None
    units: str = "cents"
    assume_size: int | None = None


@dataclass
class Recording:
    """What a prices folder holds: the listing, and trade candles and/or recorded books and trades."""
    markets: list[RecordedMarket]
    candles: list[Candle]
    quotes: list[tuple]          # (ticker, at, yes_bid, yes_bid_size, yes_ask, yes_ask_size)
    ticks: list[tuple]           # (trade_id, ticker, created_time, yes_price, count, taker_side)
    skipped: list[str]           # tickers of rows the listing does not describe
    assumed_size: int | None = None   # top-of-book ticks without sizes: the size stated for every level

    @property
    def has_book(self) -> bool:
        return bool(self.quotes)


def _event_day(event_ticker: str) -> tuple[str, date]:
    """KXHIGHNY-25JUL14 -> ('KXHIGHNY', 2025-07-14)."""
    m = re.fullmatch(r"([A-Z0-9]+)-(\d\d)([A-Z]{3})(\d\d)", event_ticker)
    if not m or m.group(3) not in MONTHS:
        raise ValueError(f"event ticker {event_ticker!r} is not SERIES-YYMONDD")
    return m.group(1), date(2000 + int(m.group(2)), MONTHS[m.group(3)], int(m.group(4)))


def _when(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (times are UTC with an offset, e.g. 2025-07-14T04:00:00+00:00)")
    return t.astimezone(timezone.utc)


def _cents(text: str, name: str) -> Decimal:
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not (0 < v < 100):
        raise ValueError(f"{name} {v} is not a price in cents between 0 and 100")
    return v / 100


def _rows(path: Path, columns: list[str]):
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or [c for c in columns if c not in reader.fieldnames]:
            raise PriceError(f"{path}: columns {reader.fieldnames}, expected {columns}")
        yield from enumerate(reader, start=2)


def _dollars(text: str, name: str) -> Decimal | None:
    if text in ("", None):
        return None
    v = Decimal(text)
    if not (0 < v < 1):
        raise ValueError(f"{name} {v} is not a price in dollars between 0 and 1")
    return v


def _tick_time(text: str, fmt: TickFormat) -> datetime:
    """A tick's time: ISO 8601 with an offset, or naive in the stated zone, or Unix epoch (s or ms)."""
    text = text.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        v = float(text)
        return datetime.fromtimestamp(v / 1000 if v > 1e11 else v, timezone.utc)
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        if fmt.tz is None:
            raise ValueError(f"timestamp {text!r} has no time zone: state the file's with --tick-tz (e.g. America/New_York)")
        t = t.replace(tzinfo=fmt.tz)
    return t.astimezone(timezone.utc)


def _tick_price(text: str, name: str, fmt: TickFormat) -> Decimal | None:
    """A best bid in the stated unit, as dollars; empty: no bid on that side. A unit that cannot be the
    stated one is an error (0.42 read as cents, 42 read as dollars), never a silently wrong price."""
    text = (text or "").strip()
    if text in ("", "null", "None"):
        return None
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if fmt.units == "cents":
        if 0 < v < 1:
            raise ValueError(f"{name} {v} is below one cent: the file is in dollars? (--tick-units dollars)")
        v = v / 100
    elif v >= 1:
        raise ValueError(f"{name} {v} is not a price in dollars below 1: the file is in cents? (--tick-units cents)")
    if v == 0:
        return None     # a zero best bid is an empty side as some recorders write it
    if not 0 < v < 1:
        raise ValueError(f"{name} {v} is not a price between 0 and 1 dollar")
    return v


def read_top_ticks(path: Path, fmt: TickFormat, markets: dict, skipped: set) -> tuple[list[tuple], bool]:
    """`timestamp,market_ticker,best_yes_bid,best_no_bid[,best_yes_bid_size,best_no_bid_size,...]` -> quotes
    (ticker, at, yes_bid, yes_bid_size, yes_ask, yes_ask_size): the yes ask is 1 - the best no bid, its size
    the no bid's size. Also says whether the stated size stood in for missing ones."""
    names = _header(path)
    size_col = {side: next((c for c in cols if c in names), None) for side, cols in TOP_SIZES.items()}
    if (size_col["yes"] is None or size_col["no"] is None) and fmt.assume_size is None:
        raise PriceError(f"{path}: no bid sizes ({' or '.join(TOP_SIZES['yes'])}, and the no side's): the paper "
                         f"exchange fills at most the recorded size; pass --assume-size N to state one")

    def quote(r: dict) -> tuple:
        at = _tick_time(r["timestamp"] or "", fmt)
        yes_bid = _tick_price(r["best_yes_bid"], "best_yes_bid", fmt)
        no_bid = _tick_price(r["best_no_bid"], "best_no_bid", fmt)

        def size(side: str, price) -> Decimal | None:
            if price is None:
                return None
            col = size_col[side]
            v = Decimal(r[col]) if col and (r[col] or "").strip() else Decimal(fmt.assume_size) if fmt.assume_size else None
            if v is None or v < 0:
                raise ValueError(f"{side} bid size {r.get(col)!r} is missing or negative")
            return v
        yes_ask = 1 - no_bid if no_bid is not None else None
        if yes_bid is not None and yes_ask is not None and yes_bid > yes_ask:
            raise ValueError(f"a crossed book: yes bid {yes_bid} above yes ask {yes_ask} (1 - no bid)")
        return (r["market_ticker"], at, yes_bid, size("yes", yes_bid), yes_ask, size("no", no_bid))

    quotes = _listed(path, TOP_COLUMNS, markets, skipped, quote, key="market_ticker")
    return quotes, size_col["yes"] is None or size_col["no"] is None


def _listed(path: Path, columns: list[str], markets: dict, skipped: set, parse, key: str = "ticker") -> list:
    """Each row of a price file, parsed, whose market the listing describes; a row of another market is
    skipped and counted (without strikes and outcome it cannot be replayed); a bad row is an error naming
    its file and line."""
    out = []
    for line, r in _rows(path, columns):
        if r[key] not in markets:
            skipped.add(r[key])
            continue
        try:
            out.append(parse(r))
        except (ValueError, InvalidOperation, OverflowError) as exc:
            raise PriceError(f"{path} line {line}: {exc}") from None
    return out


def _candle(r: dict) -> Candle:
    c = Candle(r["ticker"], _when(r["start"]), _cents(r["open"], "open"), _cents(r["high"], "high"),
               _cents(r["low"], "low"), _cents(r["close"], "close"), Decimal(r["count"]))
    if not (c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close)) or c.count <= 0:
        raise ValueError("low/high do not bound open/close, or count <= 0")
    return c


def _quote(r: dict) -> tuple:
    bid, ask = _dollars(r["yes_bid"], "yes_bid"), _dollars(r["yes_ask"], "yes_ask")
    bid_size = Decimal(r["yes_bid_size"]) if bid is not None else None
    ask_size = Decimal(r["yes_ask_size"]) if ask is not None else None
    if (bid is not None and ask is not None and bid > ask) or any(x is not None and x < 0 for x in (bid_size, ask_size)):
        raise ValueError("a crossed book or a negative size")
    return (r["ticker"], _when(r["at"]), bid, bid_size, ask, ask_size)


def _tick(r: dict) -> tuple:
    if r["taker_side"] not in ("yes", "no", ""):
        raise ValueError(f"taker_side {r['taker_side']!r} is not yes, no or empty")
    count = Decimal(r["count"])
    if count <= 0:
        raise ValueError("count <= 0")
    return (r["trade_id"], r["ticker"], _when(r["created_time"]), _dollars(r["yes_price"], "yes_price"),
            count, r["taker_side"] or None)


def _header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


def read_prices(folder: Path, tick_format: TickFormat = TickFormat()) -> Recording:
    """A prices folder: the recorded markets (`*markets*.csv`: Kalshi's listing with subtitle, result and
    close time) and trade candles (`*candles*.csv`: market_id,ticker,start,open,high,low,close,count; cents,
    start in UTC with its offset) and/or recorded books and trades as `milkbot tape export` writes them
    (`*quotes*.csv`: ticker,at,yes_bid,yes_bid_size,yes_ask,yes_ask_size; `*ticks*.csv`:
    trade_id,ticker,created_time,yes_price,count,taker_side; dollars, UTC), or third-party top-of-book ticks
    (a `*ticks*.csv` or `*quotes*.csv` whose header starts timestamp,market_ticker,best_yes_bid,best_no_bid:
    read_top_ticks). Rows of markets the listing does not describe are skipped and counted (without strikes
    and outcome they cannot be replayed)."""
    if not folder.is_dir():
        raise PriceError(f"{folder}: not a folder")
    market_files, candle_files = sorted(folder.glob("*markets*.csv")), sorted(folder.glob("*candles*.csv"))
    quote_files, tick_files = sorted(folder.glob("*quotes*.csv")), sorted(folder.glob("*ticks*.csv"))
    # third-party top-of-book ticks are told apart by their header, whatever the file is called
    top_files = [p for p in quote_files + tick_files if all(c in _header(p) for c in TOP_COLUMNS)]
    quote_files = [p for p in quote_files if p not in top_files]
    tick_files = [p for p in tick_files if p not in top_files]
    if not market_files or not (candle_files or quote_files or top_files):
        raise PriceError(f"{folder}: needs a *markets*.csv and prices: *candles*.csv and/or *quotes*.csv or top-of-book *ticks*.csv "
                         f"(found {len(market_files)} markets, {len(candle_files)} candles, "
                         f"{len(quote_files) + len(top_files)} quotes files)")
    markets: dict[str, RecordedMarket] = {}
    for path in market_files:
        for line, r in _rows(path, MARKET_COLUMNS):
            try:
                series, day = _event_day(r["event_ticker"])
                bracket = strikes_of(r["subtitle"])
                if bracket is None:
                    raise ValueError(f"subtitle {r['subtitle']!r} is not a bracket ('X° or above', 'X° or below', 'X° to Y°')")
                if not r["market_ticker"].startswith(r["event_ticker"] + "-"):
                    raise ValueError(f"market {r['market_ticker']!r} is not in event {r['event_ticker']!r}")
                result = r["result"] if r["status"] in ("finalized", "settled", "determined") else ""
                if result not in ("yes", "no", ""):
                    raise ValueError(f"result {r['result']!r} is not yes or no")
                markets[r["market_ticker"]] = RecordedMarket(r["market_ticker"], r["event_ticker"], series, day, *bracket,
                                                             _when(r["close_time"]), result)
            except ValueError as exc:
                raise PriceError(f"{path} line {line}: {exc}") from None
    skipped: set = set()
    candles = [c for path in candle_files for c in _listed(path, CANDLE_COLUMNS, markets, skipped, _candle)]
    quotes, assumed = [], False
    for path in top_files:
        rows, guessed = read_top_ticks(path, tick_format, markets, skipped)
        quotes += rows
        assumed = assumed or guessed
    quotes += [q for path in quote_files for q in _listed(path, QUOTE_COLUMNS, markets, skipped, _quote)]
    ticks = [t for path in tick_files for t in _listed(path, TICK_COLUMNS, markets, skipped, _tick)]
    return Recording(list(markets.values()), candles, quotes, ticks, sorted(skipped),
                     tick_format.assume_size if assumed else None)


def listed_at(day: date) -> datetime:
    """Kalshi lists a daily temperature event at 10:00 Eastern the day before."""
    return datetime.combine(day - timedelta(days=1), time(10), EASTERN).astimezone(timezone.utc)


def load_prices(conn: psycopg.Connection, rec: Recording, half_spread: Decimal, quote_age_min: int) -> None:
    markets, candles = rec.markets, rec.candles
    series = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        """select s.series, c.code, s.kind, c.std_utc_offset from ops.cities c
            cross join lateral (values (c.high_series, 'high'), (c.low_series, 'low')) s(series, kind)""").fetchall()}
    unknown = sorted({m.series for m in markets} - series.keys())
    if unknown:
        raise PriceError(f"series {unknown} are not the daily high/low series of a Milkbot city")
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                        floor_strike, cap_strike, open_time, close_time, status, volume, open_interest)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'active', 0, 0)""",
            [(m.ticker, m.event_ticker, m.series, series[m.series][0], m.day, series[m.series][1], m.strike_type,
              m.floor, m.cap, listed_at(m.day), m.close_time) for m in markets])
        # an outcome is known once the day's final climate report is (never before the market closes)
        cur.executemany("insert into ops.recorded_results (ticker, result, known_at) values (%s, %s, %s)",
                        [(m.ticker, m.result, max(m.close_time, truth_known_at(m.day, series[m.series][2])))
                         for m in markets if m.result])
        with cur.copy("copy ops.recorded_candles (ticker, start, open, high, low, close, count) from stdin") as cp:
            for c in candles:
                cp.write_row((c.ticker, c.start, c.open, c.high, c.low, c.close, c.count))
        if rec.has_book:
            # recorded books: the quotes the cycle prices on and the paper exchange takes from (at most the
            # recorded size); recorded trades: what fills resting orders, behind their queue
            with cur.copy("""copy ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask,
                                                        yes_ask_size, content_hash) from stdin""") as cp:
                for q in rec.quotes:
                    cp.write_row(("orderbook", *q, hashlib.sha256(repr(q).encode()).hexdigest()))
            if rec.ticks:
                days = [t[2].date() for t in rec.ticks]
                cur.execute("select ops.ensure_tape_partitions(%s, %s)", (min(days), max(days)))
                with cur.copy("copy ops.tape_trades (trade_id, ticker, created_time, yes_price, count, taker_side, received_at) from stdin") as cp:
                    for t in rec.ticks:
                        cp.write_row((*t, t[2]))
            return
        cur.execute("select ops.candle_quotes(%s)", (half_spread,))
        # stated replay settings: orders rest (no recorded book to take from), a trade price up to
        # quote_age_min old stands for the quote
        cur.execute("update ops.strategy_params set value = 1 where strategy = 'all' and name = 'resting_orders'")
        cur.execute("update ops.strategy_params set value = %s where strategy = 'all' and name = 'max_quote_age_min'",
                    (quote_age_min,))


def decision_times(conn, first: date, last: date, names: list[str], every_min: int | None = None) -> list[datetime]:
    """Every named decision instant of the markets' climate days first..last and, with every_min, a cycle
    every so many minutes while any of those markets is open (as the live sweep runs), in time order."""
    rows = conn.execute(
        """select ops.climate_day_start(m.climate_date, c.std_utc_offset) + o.off
             from ops.markets m join ops.cities c on c.code = m.city_code
            cross join unnest(%s::interval[]) o(off)
            where m.climate_date between %s and %s
           union
           select t from (select min(open_time) as a, max(close_time) as b from ops.markets
                           where climate_date between %s and %s) w
            cross join generate_series(date_bin(make_interval(mins => %s), w.a, timestamptz '2000-01-01'), w.b,
                                       make_interval(mins => %s)) t
            where %s
           order by 1""",
        ([DECISIONS[n] for n in names], first, last, first, last, every_min or 60, every_min or 60, every_min is not None)).fetchall()
    return [r[0] for r in rows]


class CandleBroker(PaperBroker):
    """The paper exchange (db/functions/ops/paper.sql), plus fills from trade candles
    (ops.paper_match_candles): what a priced replay over candles trades against."""

    def match(self, now: datetime) -> int:
        return super().match(now) + self.conn.execute("select ops.paper_match_candles(%s)", (now,)).fetchone()[0]


def _executor(conninfo: str):
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("set timezone = 'UTC'")
    clock = {"now": None}
    settings = replace(config.load(), mode="paper")
    ex = Executor(settings, conn, CandleBroker(conn), "paper", now=lambda: clock["now"])
    return ex, clock, conn


def run_replay(conninfo: str, times: list[datetime], settle_at: datetime | None, log=None) -> dict:
    """The loop: at each T the recorded world, the paper fills up to T, the live cycle, the executor."""
    ex, clock, conn = _executor(conninfo)
    counts = defaultdict(int)
    try:
        for t in [*times, *([settle_at] if settle_at else [])]:
            world = conn.execute("select ops.replay_world_at(%s)", (t,)).fetchone()[0]
            counts["settled"] += world["settled"]
            clock["now"] = t
            counts["fills"] += ex.paper_fills(t)        # what traded before T fills before T's cancels
            conn.execute("select ops.refresh_positions(%s)", (t,))
            if t is settle_at:
                break
            result = conn.execute("select ops.run_cycle(%s)", (t,)).fetchone()[0]
            counts["cycles"] += 1
            counts["intents"] += result["intents"]
            counts["cancels"] += result["cancels"]
            counts["decreases"] += result["decreases"]
            clock["now"] = t + timedelta(seconds=1)        # the executor's answer arrives a second later
            ex.drain()
            ex.reconcile()
            if log:
                log(f"{t:%Y-%m-%d %H:%MZ} {result['state']}: {result['signals']} signals, {result['intents']} orders, "
                    f"{result['cancels']} cancels, equity {result['equity']}")
        counts["state"] = conn.execute("select state::text from ops.trading_state").fetchone()[0]
    finally:
        conn.close()
    return dict(counts)


def decision_name(offset_h: float) -> str:
    """The named decision times of the cycle (open, evening, midnight, morning); any other time by its
    4-hour window of local standard time around the climate day D, e.g. 'D 12-16h', 'D-1 16-20h'."""
    for name, off in DECISIONS.items():
        if abs(off.total_seconds() / 3600 - offset_h) < 1e-6:
            return name
    day, hour = divmod(int(offset_h // 4) * 4, 24)
    return f"D{'' if day == 0 else f'{day:+d}'} {hour:02d}-{hour + 4:02d}h"


def _label_order(label: str) -> tuple:
    named = {n: off.total_seconds() / 3600 for n, off in DECISIONS.items()}
    if label in named:
        return (named[label], 0)
    m = re.fullmatch(r"D([+-]\d+)? (\d\d)-\d\dh", label)
    return ((int(m.group(1) or 0) * 24 + int(m.group(2))) if m else 999, 1)


def _boot(by_day: dict, stat, draws: int = 1000, seed: int = 24):
    """stat over the days, and its 95 % interval by a bootstrap over days (the day is the unit resampled)."""
    days = list(by_day.values())
    if not days:
        return None, None, None
    rng = random.Random(seed)
    boot = sorted(v for v in (stat([days[rng.randrange(len(days))] for _ in days]) for _ in range(draws)) if v is not None)
    if not boot:
        return stat(days), None, None
    return stat(days), boot[int(0.025 * len(boot))], boot[int(0.975 * len(boot)) - 1]


def _ll(p: float, o: int) -> float:
    import math
    p = min(max(p, 0.001), 0.999)
    return -math.log(p if o else 1 - p)


def summarise(signals: list[dict], orders: list[dict], book: bool = False) -> dict:
    r4 = lambda x: None if x is None else round(x, 4)  # noqa: E731
    # scores: model, market and the traded (blended) p on the same brackets at the same named decision times
    scored = [s for s in signals if s["ladder_complete"]]
    labels = sorted({s["decision"] for s in scored}, key=_label_order)
    scores = {}
    for name, rows in [("all", scored), ("the four decision times", [s for s in scored if s["decision"] in DECISIONS]),
                       *[(d, [s for s in scored if s["decision"] == d]) for d in labels]]:
        by_day = defaultdict(list)
        for s in rows:
            by_day[s["climate_date"]].append(s)
        block = {"n": len(rows), "days": len(by_day)}
        for who, key in (("model", "model_p"), ("market", "market_p"), ("traded", "trade_p")):
            brier = lambda days, k=key: (lambda xs: sum(xs) / len(xs) if xs else None)(  # noqa: E731
                [(float(s[k]) - s["outcome"]) ** 2 for d in days for s in d])
            ll = lambda days, k=key: (lambda xs: sum(xs) / len(xs) if xs else None)(  # noqa: E731
                [_ll(float(s[k]), s["outcome"]) for d in days for s in d])
            b, blo, bhi = _boot(by_day, brier)
            lg, llo, lhi = _boot(by_day, ll)
            block[who] = {"brier": r4(b), "brier_ci95": [r4(blo), r4(bhi)], "log_loss": r4(lg), "log_loss_ci95": [r4(llo), r4(lhi)]}
        diff = lambda days: (lambda xs: sum(xs) / len(xs) if xs else None)(  # noqa: E731
            [(float(s["model_p"]) - s["outcome"]) ** 2 - (float(s["market_p"]) - s["outcome"]) ** 2 for d in days for s in d])
        d, dlo, dhi = _boot(by_day, diff)
        block["model_minus_market_brier"] = {"value": r4(d), "ci95": [r4(dlo), r4(dhi)]}
        scores[name] = block

    # P&L of the orders that filled and settled
    settled = [o for o in orders if o["pnl"] is not None and o["filled"] > 0]
    def pnl_block(rows):
        by_day = defaultdict(list)
        for o in rows:
            by_day[o["climate_date"]].append(o)
        contracts = sum(float(o["filled"]) for o in rows)
        _, lo, hi = _boot(by_day, lambda days: sum(float(o["pnl"]) for d in days for o in d))
        total = float(sum((o["pnl"] for o in rows), Decimal(0)))     # the money itself summed exactly
        claimed = (sum(float(o["claimed_edge"]) * float(o["filled"]) for o in rows if o["claimed_edge"] is not None) / contracts
                   if contracts else None)
        realised, rlo, rhi = _boot(by_day, lambda days: (lambda c: sum(float(o["pnl"]) for d in days for o in d) / c if c else None)(
            sum(float(o["filled"]) for d in days for o in d)))
        wins = sum(1 for o in rows if float(o["payout"]) > 0)
        return {"orders": len(rows), "days": len(by_day), "contracts": round(contracts, 2), "pnl": r4(total),
                "pnl_ci95": [r4(lo), r4(hi)], "claimed_edge": r4(claimed), "realised_edge": r4(realised),
                "realised_edge_ci95": [r4(rlo), r4(rhi)], "hit_rate": r4(wins / len(rows)) if rows else None}
    by = lambda key: {k: pnl_block([o for o in settled if o[key] == k])  # noqa: E731
                      for k in sorted({o[key] for o in settled}, key=_label_order if key == "decision" else None)}
    buckets = {}
    for lo, hi in EDGE_BUCKETS:
        label = (f"< {hi * 100:.0f}¢" if lo is None else f">= {lo * 100:.0f}¢" if hi is None else f"{lo * 100:.0f}-{hi * 100:.0f}¢")
        buckets[label] = pnl_block([o for o in settled if o["claimed_edge"] is not None
                                    and (lo is None or float(o["claimed_edge"]) >= lo) and (hi is None or float(o["claimed_edge"]) < hi)])
    day_pnl = defaultdict(float)
    for o in settled:
        day_pnl[o["climate_date"]] += float(o["pnl"])
    worst = min(day_pnl.items(), key=lambda kv: kv[1]) if day_pnl else None
    days = sorted({s["climate_date"] for s in signals})
    n_days = len(days)
    verdict = (f"{n_days} settled days: too few to conclude anything (at least {MIN_DAYS_TO_CONCLUDE} are needed before "
               "these figures say more than noise); read the intervals, not the point estimates"
               if n_days < MIN_DAYS_TO_CONCLUDE else f"{n_days} settled days")
    return {"days": [str(days[0]), str(days[-1])] if days else None, "verdict": verdict,
            "fills": ("the paper exchange's own rules: a taking order against the recorded book at arrival, at most its "
                      "size; a resting one from recorded trades behind the queue ahead of it" if book else
                      "optimistic: a resting order fills when a later 5-minute candle traded at or through its "
                      "price, ignoring the queue ahead and the taker side (up to the candle's count of trades as "
                      "contracts: cautious on size)"),
            "scores": scores, "pnl": pnl_block(settled), "pnl_by_city": by("city_code"), "pnl_by_decision": by("decision"),
            "pnl_by_claimed_edge": buckets,
            "worst_day": {"day": str(worst[0]), "pnl": round(worst[1], 4)} if worst else None,
            "orders_placed": len(orders), "orders_filled": sum(1 for o in orders if o["filled"] > 0)}


def fetch(conninfo: str) -> tuple[list[dict], list[dict]]:
    with psycopg.connect(conninfo) as conn:
        conn.execute("set timezone = 'UTC'")
        cur = conn.execute("select * from ops.priced_replay_signals()")
        cols = [c.name for c in cur.description]
        signals = [dict(zip(cols, r)) for r in cur.fetchall()]
        cur = conn.execute("select * from ops.priced_replay_orders()")
        cols = [c.name for c in cur.description]
        orders = [dict(zip(cols, r)) for r in cur.fetchall()]
    for r in signals + orders:
        r["decision"] = decision_name(float(r["offset_h"]))
    return signals, orders


def run(db: Database, history: Path, prices: Path, start: date | None = None, end: date | None = None,
        decisions: list[str] = ("open", "evening", "midnight", "morning"), half_spread_cents: int = 1,
        quote_age_min: int = 60, every_min: int | None = None, scratch_name: str | None = None, log=None,
        tick_format: TickFormat = TickFormat()) -> tuple[list[dict], list[dict], dict]:
    unknown = [d for d in decisions if d not in DECISIONS]
    if unknown or not decisions:
        raise HistoryError(f"--decisions: {', '.join(unknown) or 'none given'}; choose from {', '.join(DECISIONS)}")
    if not 1 <= half_spread_cents <= 10:
        raise HistoryError("--half-spread-cents: 1 to 10")
    if every_min is not None and not 1 <= every_min <= 1440:
        raise HistoryError("--every: 1 to 1440 minutes")
    forecasts, truths = read_history(history)
    rec = read_prices(prices, tick_format)
    markets = rec.markets
    days = sorted({m.day for m in markets})
    # by default the days both the prices and the forecasts cover
    fdays = {r.target_date for r in forecasts}
    first = start or min((d for d in days if d in fdays), default=days[0])
    last = end or max((d for d in days if d in fdays), default=days[-1])
    with Scratch(db, scratch_name or f"milkbot_priced_{os.getpid()}") as conninfo:   # one per process
        with psycopg.connect(conninfo) as conn:
            conn.execute("set timezone = 'UTC'")
            load_history(conn, forecasts, truths)
            load_prices(conn, rec, Decimal(half_spread_cents) / 100, quote_age_min)
            conn.commit()
            times = decision_times(conn, first, last, list(decisions), every_min)
            settle_at = conn.execute("select max(known_at) from ops.recorded_results r join ops.markets m using (ticker) "
                                     "where m.climate_date between %s and %s", (first, last)).fetchone()[0]
        counts = run_replay(conninfo, times, settle_at, log)
        signals, orders = fetch(conninfo)
    signals = [s for s in signals if first <= s["climate_date"] <= last]
    orders = [o for o in orders if first <= o["climate_date"] <= last]
    summary = summarise(signals, orders, rec.has_book)
    summary["replay"] = {**counts, "decision_times": len(times), "every_min": every_min, "markets_not_listed": len(rec.skipped),
                         "prices": "recorded books and trades" if rec.has_book else "trade candles", "half_spread_cents": half_spread_cents,
                         "quote_age_min": quote_age_min, "from": str(first), "to": str(last)}
    if rec.assumed_size is not None:
        summary["replay"]["assumed_size"] = rec.assumed_size
        summary["fills"] += (f" The recorded books had no sizes: every best bid was assumed to hold {rec.assumed_size} "
                             f"contracts (--assume-size), so fill sizes are a guess.")
    return signals, orders, summary


SIGNAL_COLUMNS = ["as_of", "decision", "ticker", "climate_date", "model_p", "market_p", "trade_p", "model_weight", "edge",
                  "taken", "outcome", "ladder_complete"]
ORDER_COLUMNS = ["as_of", "decision", "ticker", "climate_date", "side", "price", "ordered", "filled", "cost", "fees",
                 "payout", "pnl", "claimed_edge", "realised_edge", "result"]


def write_csvs(signals: list[dict], orders: list[dict], stem: Path) -> list[Path]:
    paths = [stem.with_name(stem.stem + "_signals.csv"), stem.with_name(stem.stem + "_orders.csv")]
    for path, rows, cols in ((paths[0], signals, SIGNAL_COLUMNS), (paths[1], orders, ORDER_COLUMNS)):
        with path.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow(["" if r.get(c) is None else (r[c].isoformat() if hasattr(r[c], "isoformat") else r[c]) for c in cols])
    return paths


def draw_charts(signals: list[dict], orders: list[dict], stem: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    settled = sorted((o for o in orders if o["pnl"] is not None and o["filled"] > 0), key=lambda o: (o["climate_date"], o["as_of"]))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    total, xs, ys = 0.0, [], []
    for o in settled:
        total += float(o["pnl"])
        xs.append(o["climate_date"])
        ys.append(total)
    ax.step(xs, ys, where="post", color="#1f77b4")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("cumulative P&L after fees, $")
    ax.set_title(f"Priced replay: equity of the settled orders ({len(settled)} filled)")
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(stem.with_name(stem.stem + "_equity.png"))
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    scored = [s for s in signals if s["ladder_complete"]]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    for who, key in (("model", "model_p"), ("market (mid, normalised)", "market_p")):
        acc = defaultdict(lambda: [0.0, 0.0, 0])
        for s in scored:
            b = min(int(float(s[key]) * 10), 9)
            acc[b][0] += float(s[key])
            acc[b][1] += s["outcome"]
            acc[b][2] += 1
        pts = [(p / n, h / n) for _, (p, h, n) in sorted(acc.items()) if n]
        ax.plot([p for p, _ in pts], [h for _, h in pts], marker="o", label=who)
    ax.set_xlabel("probability given to a bracket")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability on the same brackets and times (n={len(scored)})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    paths.append(stem.with_name(stem.stem + "_reliability.png"))
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def to_json(summary: dict) -> str:
    return json.dumps(summary, indent=2, default=str)


def report(summary: dict) -> str:
    """The summary as a reader wants it: the verdict first, then the scores and the money."""
    def ci(v):
        return "" if not v or v[0] is None else f" ({v[0]:+.4f} .. {v[1]:+.4f})"
    lines = [f"priced replay {summary['replay']['from']} .. {summary['replay']['to']}: {summary['verdict']}",
             f"fills: {summary['fills']}", "",
             f"{'decision':24}{'n':>6}{'days':>6}{'Brier model':>13}{'market':>9}{'traded':>9}{'logloss model':>15}{'market':>9}"
             f"   model - market Brier (95% CI by day)"]
    for name, b in summary["scores"].items():
        if b["n"]:
            lines.append(f"{name:24}{b['n']:>6}{b['days']:>6}{b['model']['brier']:>13.4f}{b['market']['brier']:>9.4f}"
                         f"{b['traded']['brier']:>9.4f}{b['model']['log_loss']:>15.4f}{b['market']['log_loss']:>9.4f}"
                         f"   {b['model_minus_market_brier']['value']:+.4f}{ci(b['model_minus_market_brier']['ci95'])}")
    p = summary["pnl"]
    lines += ["", f"orders placed {summary['orders_placed']}, filled {summary['orders_filled']}; settled and filled: "
                  f"{p['orders']} orders, {p['contracts']} contracts over {p['days']} days"]
    if p["orders"]:
        lines += [f"P&L after fees ${p['pnl']:+.2f}{ci(p['pnl_ci95'])}; edge per contract claimed {p['claimed_edge']:+.4f}, "
                  f"realised {p['realised_edge']:+.4f}{ci(p['realised_edge_ci95'])}; hit rate {p['hit_rate']:.0%}; "
                  f"worst day {summary['worst_day']['day']} ${summary['worst_day']['pnl']:+.2f}"]
        for title, part in (("by decision time (local standard time of the climate day D)", summary["pnl_by_decision"]), ("by claimed edge", summary["pnl_by_claimed_edge"]),
                            ("by city", summary["pnl_by_city"])):
            lines.append(title + ": " + "; ".join(f"{k} {v['orders']} orders ${v['pnl']:+.2f} (claimed {v['claimed_edge']:+.3f}, "
                                                  f"realised {v['realised_edge']:+.3f})" for k, v in part.items() if v["orders"]))
    return "\n".join(lines)
