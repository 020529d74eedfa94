"""The priced replay (issue 24 §5): `milkbot backtest --prices DIR` runs the live cycle, executor and paper
exchange over recorded prices, in a scratch database.

* No look-ahead: prices and outcomes after a time T changed -> every decision at or before T (signals and
  the orders placed) is byte-identical; after T they differ (the change was seen in time).
* It trades: on a generated recording where the market underprices the bracket the forecast points at,
  orders are placed, fill only from later candles, settle, and the report carries P&L, claimed vs
  realised edge and the model / market scores, and says plainly that a few days prove nothing.
The fill rule itself is tested in SQL (tests/db/paper_candles.sql)."""
from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from milkbot.priced_replay import PriceError, TickFormat, listed_at, read_prices  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

FIRST = date(2025, 8, 4)
DAYS = 5
CENTRE = 80
# the recorded ladder and where the market prices it (cents): the bracket the forecast points at is cheap
LADDER = [("T75", f"{CENTRE - 5}° or below", 6), ("B76.5", f"{CENTRE - 4}° to {CENTRE - 3}°", 12),
          ("B78.5", f"{CENTRE - 2}° to {CENTRE - 1}°", 25), ("B80.5", f"{CENTRE}° to {CENTRE + 1}°", 20),
          ("B82.5", f"{CENTRE + 2}° to {CENTRE + 3}°", 20), ("T83", f"{CENTRE + 4}° or above", 6)]


def event(day: date) -> str:
    return f"KXHIGHNY-{day:%y}{day:%b}{day:%d}".upper()


def winner(truth: int) -> str:
    if truth <= CENTRE - 5:
        return "T75"
    if truth >= CENTRE + 4:
        return "T83"
    lo = CENTRE - 4 + 2 * ((truth - (CENTRE - 4)) // 2)
    return f"B{lo + 0.5}"


def write_world(folder: Path, change_after: datetime | None = None, book: bool = False) -> None:
    """History (NYC forecasts as issued, official highs) and prices (markets, 30-minute trade candles).
    change_after: every candle from then on trades elsewhere, and every outcome known after it is another."""
    rng = random.Random(24)
    (folder / "history").mkdir(parents=True)
    (folder / "prices").mkdir(parents=True)
    truths = {}
    with (folder / "history" / "forecasts.csv").open("w", newline="") as ff, \
         (folder / "history" / "truth.csv").open("w", newline="") as tf:
        fw, tw = csv.writer(ff, lineterminator="\n"), csv.writer(tf, lineterminator="\n")
        fw.writerow(["city", "station", "kind", "target_date", "issued_at", "value_f", "source"])
        tw.writerow(["city", "station", "kind", "date", "value_f", "source"])
        for i in range(-2, DAYS):
            day = FIRST + timedelta(days=i)
            truth = CENTRE + rng.choice([0, 1])
            # a truth is known at 06:00 EST the day after (11:00Z): after change_after it is another
            known = datetime.combine(day + timedelta(days=1), time(11), timezone.utc)
            if change_after and known > change_after:
                truth = CENTRE - 6
            truths[day] = truth
            tw.writerow(["NYC", "KNYC", "high", day.isoformat(), truth, "nws_cli"])
            for issued in (datetime.combine(day - timedelta(days=1), time(14), timezone.utc),
                           datetime.combine(day - timedelta(days=1), time(20), timezone.utc),
                           datetime.combine(day, time(10), timezone.utc)):
                fw.writerow(["NYC", "KNYC", "high", day.isoformat(), issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             CENTRE + 0.5 + rng.choice([-0.5, 0, 0.5]), "nws_point_forecast_logger"])
    with (folder / "prices" / "KXHIGHNY_markets.csv").open("w", newline="") as mf, \
         (folder / "prices" / ("quotes.csv" if book else "KXHIGHNY_candles_5m.csv")).open("w", newline="") as cf, \
         (folder / "prices" / "ticks.csv").open("w", newline="") as tf:
        mw, cw, kw = (csv.writer(f, lineterminator="\n") for f in (mf, cf, tf))
        mw.writerow(["event_ticker", "event_title", "market_ticker", "subtitle", "status", "result", "last_price",
                     "volume", "close_time", "category"])
        cw.writerow(["ticker", "at", "yes_bid", "yes_bid_size", "yes_ask", "yes_ask_size"] if book else
                    ["market_id", "ticker", "start", "open", "high", "low", "close", "count"])
        kw.writerow(["trade_id", "ticker", "created_time", "yes_price", "count", "taker_side"])
        for i in range(DAYS):
            day = FIRST + timedelta(days=i)
            close_time = datetime.combine(day + timedelta(days=1), time(3, 59), timezone.utc)
            for suffix, subtitle, cents in LADDER:
                ticker = f"{event(day)}-{suffix}"
                mw.writerow([event(day), f"Highest temperature in NYC on {day}?", ticker, subtitle, "finalized",
                             "yes" if winner(truths[day]) == suffix else "no", 1, 1000,
                             close_time.strftime("%Y-%m-%dT%H:%M:%SZ"), "Climate and Weather"])
                t = listed_at(day)
                while t < close_time:
                    c = cents + rng.choice([-1, 0, 1])
                    if change_after and t >= change_after:
                        c = 50
                    if book:      # the recorded top of book: 1 cent a side, 50 a level
                        cw.writerow([ticker, t.isoformat(), f"{(c - 1) / 100:.2f}", 50, f"{(c + 1) / 100:.2f}", 50])
                        kw.writerow([f"{ticker}-{t:%d%H%M}", ticker, t.isoformat(), f"{c / 100:.2f}", 3, "yes"])
                        if suffix == "B80.5" and t == datetime.combine(day, time(5), timezone.utc):
                            # half a second after the 00:00 decision the offer on the cheap bracket shrinks to 2
                            cw.writerow([ticker, (t + timedelta(milliseconds=500)).isoformat(), f"{(c - 1) / 100:.2f}", 50,
                                         f"{(c + 1) / 100:.2f}", 2])
                    else:
                        cw.writerow([ticker, ticker, t.isoformat(), c, c + 1, c - 1, c, 10])
                    t += timedelta(minutes=30)


NEW_YORK = ZoneInfo("America/New_York")


def as_top_ticks(prices: Path, extra: bool = True) -> None:
    """Rewrite the recorded books (quotes.csv) as a third-party recorder writes them: ticks.csv with
    `timestamp,market_ticker,best_yes_bid,best_no_bid,...`, cents, New York wall time without an offset,
    Kalshi's two bid ladders (a yes ask of 57 is a no bid of 43), sizes and a column nobody reads."""
    with (prices / "quotes.csv").open() as f:
        rows = list(csv.DictReader(f))
    (prices / "quotes.csv").unlink()
    (prices / "ticks.csv").unlink()              # the trades: this format has none
    with (prices / "KXHIGHNY_ticks.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "market_ticker", "best_yes_bid", "best_no_bid", "best_yes_bid_size", "best_no_bid_size"]
                   + (["spread"] if extra else []))
        for r in rows:
            at = datetime.fromisoformat(r["at"]).astimezone(NEW_YORK).replace(tzinfo=None)
            yes = round(float(r["yes_bid"]) * 100) if r["yes_bid"] else ""
            no = 100 - round(float(r["yes_ask"]) * 100) if r["yes_ask"] else ""
            w.writerow([at.isoformat(sep=" "), r["ticker"], yes, no, r["yes_bid_size"], r["yes_ask_size"]]
                       + ([1] if extra else []))


def replays(*folders: Path, args: dict | None = None) -> list[tuple[list[dict], list[dict], dict]]:
    """`milkbot backtest --prices` over each folder, side by side (each its own scratch database);
    args: more arguments for a folder."""
    procs = []
    for folder in folders:
        (folder / "out").mkdir()
        procs.append(subprocess.Popen([sys.executable, "-m", "milkbot.cli", "backtest", "--history", str(folder / "history"),
                                       "--prices", str(folder / "prices"), "--out", str(folder / "out" / "replay.csv"), "--json",
                                       *(args or {}).get(folder, [])],
                                      cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for folder, proc in zip(folders, procs):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        rows = lambda name: list(csv.DictReader((folder / "out" / f"replay_{name}.csv").open()))  # noqa: E731
        results.append((rows("signals"), rows("orders"), json.loads(out)))
    return results


DECIDED = ["as_of", "decision", "ticker", "model_p", "market_p", "trade_p", "model_weight", "edge", "taken", "ladder_complete"]
PLACED = ["as_of", "ticker", "side", "price", "ordered"]


def test_no_look_ahead_and_what_a_replay_reports(tmp_path):
    cut = datetime.combine(FIRST + timedelta(days=2), time(5), timezone.utc)     # day 3's midnight decision
    write_world(tmp_path / "a")
    write_world(tmp_path / "b", change_after=cut)
    (sig_a, ord_a, sum_a), (sig_b, ord_b, _) = replays(tmp_path / "a", tmp_path / "b")

    before = lambda rows, cols: [[r[c] for c in cols] for r in rows if datetime.fromisoformat(r["as_of"]) <= cut]  # noqa: E731
    after = lambda rows, cols: [[r[c] for c in cols] for r in rows if datetime.fromisoformat(r["as_of"]) > cut]  # noqa: E731
    assert before(ord_a, PLACED), "no order before the cut: the comparison would prove nothing"
    assert before(sig_a, DECIDED) == before(sig_b, DECIDED)
    assert before(ord_a, PLACED) == before(ord_b, PLACED)
    assert after(sig_a, DECIDED) != after(sig_b, DECIDED), "the changed future was never seen at all"

    # what the replay reports, on the unchanged world: the market underpriced the forecast's bracket
    assert sum_a["orders_filled"] >= 1 and sum_a["pnl"]["orders"] >= 1, sum_a
    filled = [o for o in ord_a if float(o["filled"]) > 0]
    assert all(abs(float(o["pnl"]) - (float(o["payout"]) - float(o["cost"]) - float(o["fees"]))) < 1e-9 for o in filled)
    assert sum_a["pnl"]["claimed_edge"] > 0 and sum_a["pnl"]["realised_edge"] is not None
    assert sum_a["scores"]["all"]["n"] > 0 and sum_a["scores"]["all"]["market"]["brier"] is not None
    assert "too few to conclude" in sum_a["verdict"] and "optimistic" in sum_a["fills"]
    assert (tmp_path / "a" / "out" / "replay_equity.png").stat().st_size > 0


def test_a_replay_over_recorded_books_takes_at_most_what_the_book_held_on_arrival(tmp_path):
    """Recorded books and trades (the files `milkbot tape export` writes) instead of candles: the paper
    exchange's own rules -- the cycle's immediate-or-cancel orders take from the recorded book at the
    moment they arrive, for at most its size.
    The same books as a third-party recorder writes them (top-of-book ticks, cents, New York wall time)
    replay into the same orders and fills, the trades aside (that format has none: resting orders would
    never fill, and the cycle's are immediate-or-cancel)."""
    write_world(tmp_path / "w", book=True)
    write_world(tmp_path / "t", book=True)
    as_top_ticks(tmp_path / "t" / "prices")
    (signals, orders, summary), (_, orders_t, summary_t) = replays(
        tmp_path / "w", tmp_path / "t", args={tmp_path / "t": ["--tick-tz", "America/New_York"]})
    assert summary["replay"]["prices"] == "recorded books and trades" and "own rules" in summary["fills"]
    cheap = [o for o in orders if o["ticker"].endswith("-B80.5") and o["decision"] == "midnight"]
    assert cheap, orders
    # decided against 50 on offer; on arrival, half a second later, 2 were left: 2 filled, the rest cancelled
    assert all(float(o["ordered"]) > 2 and float(o["filled"]) == 2 for o in cheap), cheap
    assert summary["orders_filled"] >= len(cheap) and summary["scores"]["all"]["n"] > 0
    filled = lambda rows: [[o[c] for c in PLACED + ["filled"]] for o in rows]  # noqa: E731
    assert filled(orders_t) == filled(orders), "the same books in the third-party format replayed differently"
    assert summary_t["pnl"] == summary["pnl"]


def test_bad_prices_are_a_clear_error_and_leave_no_scratch_database(tmp_path, db):
    """A malformed candle names its file and line; a series that is no Milkbot city's is refused after the
    scratch database exists -- which is dropped all the same. No traceback either way."""
    def run(folder: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "milkbot.cli", "backtest", "--history", str(folder / "history"),
                               "--prices", str(folder / "prices")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    write_world(tmp_path / "hot")
    candles = tmp_path / "hot" / "prices" / "KXHIGHNY_candles_5m.csv"
    lines = candles.read_text().splitlines()
    row = lines[1].split(",")
    row[6] = "150"                                   # a close of 150 cents
    candles.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    proc = run(tmp_path / "hot")
    assert proc.returncode == 2 and "line 2" in proc.stderr and "not a price in cents" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr

    write_world(tmp_path / "odd")
    for name in ("KXHIGHNY_markets.csv", "KXHIGHNY_candles_5m.csv"):
        path = tmp_path / "odd" / "prices" / name
        path.write_text(path.read_text().replace("KXHIGHNY", "KXHIGHXX"))
    proc = run(tmp_path / "odd")
    assert proc.returncode == 2 and "not the daily high/low series of a Milkbot city" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert db.admin.execute("select count(*) from pg_database where datname like 'milkbot_priced_%%'").fetchone()[0] == 0


def test_third_party_top_of_book_ticks_read_as_the_books_they_are_or_a_clear_error(tmp_path):
    """`timestamp,market_ticker,best_yes_bid,best_no_bid,...`: the same books as the exported quotes; a
    timestamp without a zone needs --tick-tz, a price in the other unit, a crossed book and missing sizes
    are errors naming file and line (missing sizes may be stated with --assume-size)."""
    write_world(tmp_path / "w", book=True)
    ours = read_prices(tmp_path / "w" / "prices").quotes
    prices = tmp_path / "w" / "prices"
    as_top_ticks(prices)
    theirs = read_prices(prices, TickFormat(NEW_YORK, "cents")).quotes
    assert len(ours) > 100 and theirs == ours

    ticks = prices / "KXHIGHNY_ticks.csv"
    good = ticks.read_text()

    def error(text: str, fmt: TickFormat = TickFormat(NEW_YORK, "cents")) -> str:
        ticks.write_text(text)
        try:
            read_prices(prices, fmt)
        except PriceError as exc:
            return str(exc)
        raise AssertionError("read without an error")

    assert "no time zone" in error(good, TickFormat(None, "cents"))
    assert "in cents? (--tick-units cents)" in error(good, TickFormat(NEW_YORK, "dollars"))
    lines = good.splitlines()
    row = lines[1].split(",")
    wrong_unit = error(good.replace(lines[1], ",".join([row[0], row[1], "0.55", *row[3:]])))
    assert "line 2" in wrong_unit and "in dollars? (--tick-units dollars)" in wrong_unit
    assert "crossed" in error(good.replace(lines[1], ",".join([row[0], row[1], "60", "50", *row[4:]])))
    # an offset in the timestamp wins; Unix epoch seconds are UTC
    at = datetime.fromisoformat(row[0]).replace(tzinfo=NEW_YORK)
    ticks.write_text(good.replace(lines[1], ",".join([str(int(at.timestamp())), *row[1:]])))
    assert read_prices(prices, TickFormat(NEW_YORK, "cents")).quotes[0][1] == at
    # no sizes: refused unless stated
    as_top_ticks_no_sizes = "\n".join(",".join(line.split(",")[:4]) for line in lines) + "\n"
    assert "--assume-size" in error(as_top_ticks_no_sizes)
    ticks.write_text(as_top_ticks_no_sizes)
    rec = read_prices(prices, TickFormat(NEW_YORK, "cents", assume_size=7))
    assert rec.assumed_size == 7 and {q[3] for q in rec.quotes if q[2] is not None} == {7}
