"""The market feed (issue 25 §1-§2) against the fake WebSocket exchange: the signed upgrade, snapshots then
deltas into the tape and the live book, and a book equal to the exchange's after every injected fault --
a lost message (gap), a duplicate, a reordering, a dropped connection; the tape replays into the same
book; the book is what the cycle reads (ops.market_snapshots); every message the fake sends is one the
AsyncAPI spec allows."""
from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from fakes.harness import NOW, Fakes
from fakes.waiting import wait_for
from milkbot.sim.kalshi_ws_fake import KalshiWsFake
from workers.common.kalshi_auth import KalshiSigner
from workers.ingest.feed import Feed, ws_url


class FeedThread:
    """The feed's asyncio loop in a thread, as `milkbot feed` runs it."""

    def __init__(self, db, url: str, signer):
        self.feed = Feed(db.conninfo("milkbot_executor"), url, signer, now=lambda: NOW, watch_every=0.2,
                         alive_every=0.2, healthy_after=0.5)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.loop.run_until_complete(self.feed.run())
        except BaseException as exc:          # seen by gone(): a feed that died fails the wait at once
            self.error = exc

    def gone(self):
        return f"the feed stopped: {self.error!r}" if not self.thread.is_alive() else None

    def stop(self):
        if not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.feed.stop)
        self.thread.join(15)
        assert not self.thread.is_alive(), "the feed did not stop"


@pytest.fixture
def db(world_db):
    """The fake world's markets, books and weather already in the test database (one REST pass)."""
    return world_db


@pytest.fixture
def exchange(db):
    fakes = Fakes()
    ws = KalshiWsFake(fakes.world, public_key=fakes.key.public_key())
    url = ws.start()                                     # the markets: discovered over REST already (db)
    yield fakes, ws, url
    ws.stop()
    fakes.stop()


@pytest.fixture
def running(db, exchange):
    fakes, ws, url = exchange
    feed = FeedThread(db, url, KalshiSigner("test-key", fakes.key))
    yield fakes, ws, feed
    feed.stop()


def db_book(db, ticker):
    rows = db.admin.execute("select side, price, qty from ops.book_levels where ticker = %s", (ticker,)).fetchall()
    return {s: {p: q for side, p, q in rows if side == s} for s in ("yes", "no")}


def same_book(db, ws, ticker):
    return db_book(db, ticker) == ws.book_now(ticker) and db.admin.execute(
        "select trusted from ops.feed_books where ticker = %s", (ticker,)).fetchone() == (True,)


def test_ws_url_pairs_with_the_rest_host():
    assert ws_url("https://api.elections.kalshi.com/trade-api/v2") == "wss://api.elections.kalshi.com/trade-api/ws/v2"
    assert ws_url("http://127.0.0.1:8080/trade-api/v2") == "ws://127.0.0.1:8080/trade-api/ws/v2"


def test_the_feed_keeps_the_book_through_gaps_duplicates_reorders_and_disconnects(db, running):
    fakes, ws, feed = running
    t = fakes.ticker()
    watched = {r[0] for r in db.admin.execute("select ops.feed_markets(%s)", (NOW,)).fetchall()}
    wait_for(lambda: ws.subscribed() == watched, "the feed to subscribe every open market", gone=feed.gone)
    wait_for(lambda: same_book(db, ws, t), "the first snapshot", gone=feed.gone)
    bid = max(ws.book_now(t)["yes"])

    def move(side, price, delta):
        ws.change(t, side, price, Decimal(delta))

    # in order: each delta lands
    move("yes", bid, "-20")
    move("yes", bid + Decimal("0.01"), "7")
    wait_for(lambda: same_book(db, ws, t), "two deltas applied", gone=feed.gone)
    assert db.admin.execute("""select yes_bid, yes_bid_size from ops.market_snapshots where ticker = %s
                                order by fetched_at desc, id desc limit 1""", (t,)).fetchone() == (bid + Decimal("0.01"), 7)

    for fault in ("gap", "duplicate", "reorder"):
        gaps = feed.feed.stats.gaps
        ws.fault(fault)
        move("yes", bid, "5")
        move("no", max(ws.book_now(t)["no"]), "-10")
        move("yes", bid - Decimal("0.01"), "3")
        wait_for(lambda: same_book(db, ws, t), f"the book equal to the exchange's after a {fault}", gone=feed.gone)
        if fault in ("gap", "reorder"):
            assert feed.feed.stats.gaps > gaps, f"a {fault} was not seen as a gap"

    # a dropped connection: reconnected, resubscribed, resnapshotted
    connections = ws.connections
    ws.fault("disconnect")
    move("yes", bid, "1")
    move("no", max(ws.book_now(t)["no"]), "2")
    wait_for(lambda: ws.connections > connections and same_book(db, ws, t), "a new connection with the book repaired",
             gone=feed.gone)
    assert any(r.startswith("closed") for r in feed.feed.stats.lost)

    # the tape alone replays into the same book
    replay = db.admin.execute("select side, price, qty from ops.replay_book(%s, now() + interval '1 day')", (t,)).fetchall()
    assert {s: {p: q for side, p, q in replay if side == s} for s in ("yes", "no")} == db_book(db, t)
    # what was stored: snapshots, deltas once each (the duplicate dropped), the unapplied one after the gap
    kinds = db.admin.execute("""select count(*) filter (where kind = 'snapshot'), count(*) filter (where not applied)
                                  from ops.tape_book where ticker = %s""", (t,)).fetchone()
    assert kinds[0] >= 3 and kinds[1] >= 1


def test_a_book_known_wrong_is_no_quote_until_its_snapshot(db, exchange):
    """Between a gap and the snapshot that repairs it, the cycle sees no quote (never a wrong one)."""
    fakes, ws, url = exchange
    t = fakes.ticker()
    conn = "test-conn"
    lv = ws.book_now(t)
    snap = {"type": "orderbook_snapshot", "sid": 1, "seq": 1,
            "msg": {"market_ticker": t, "market_id": "m", "yes_dollars_fp": [[f"{p:.4f}", f"{q:.2f}"] for p, q in lv["yes"].items()],
                    "no_dollars_fp": [[f"{p:.4f}", f"{q:.2f}"] for p, q in lv["no"].items()]}}
    delta = {"type": "orderbook_delta", "sid": 1, "seq": 3,
             "msg": {"market_ticker": t, "market_id": "m", "price_dollars": "0.5000", "delta_fp": "10.00", "side": "yes"}}
    from psycopg.types.json import Jsonb
    at = NOW + timedelta(minutes=1)
    r1 = db.admin.execute("select ops.record_feed(%s, %s, %s)", (conn, Jsonb([snap]), at)).fetchone()[0]
    r2 = db.admin.execute("select ops.record_feed(%s, %s, %s)", (conn, Jsonb([delta]), at + timedelta(seconds=1))).fetchone()[0]
    assert r1["resnapshot"] == [] and r2["gaps"] == 1 and r2["resnapshot"] == [t]
    top = db.admin.execute("""select source, yes_bid, yes_ask from ops.market_snapshots where ticker = %s
                               order by fetched_at desc limit 1""", (t,)).fetchone()
    assert top == ("feed", None, None)
    reason = db.admin.execute("select reason from ops.evaluate_markets(%s) where ticker = %s",
                              (at + timedelta(seconds=2), t)).fetchone()[0]
    assert reason == "spread: no two-sided quote", reason         # fresh (just written), and empty
    snap2 = {**snap, "seq": 4}
    r3 = db.admin.execute("select ops.record_feed(%s, %s, %s)", (conn, Jsonb([snap2]), at + timedelta(seconds=3))).fetchone()[0]
    assert r3["resnapshot"] == [] and db.admin.execute(
        "select trusted from ops.feed_books where ticker = %s", (t,)).fetchone() == (True,)


def test_a_malformed_message_is_refused_alone_and_its_market_resnapshotted(db, exchange):
    """One bad message in a batch: the others are recorded, the bad one is refused with its reason, its
    market untrusted (no quote) and named for a snapshot, and its sequence number does not read as a gap."""
    fakes, ws, url = exchange
    good, bad = fakes.ticker(i=2), fakes.ticker(i=3)
    from psycopg.types.json import Jsonb
    lv = lambda t: {s: [[f"{p:.4f}", f"{q:.2f}"] for p, q in ws.book_now(t)[s].items()] for s in ("yes", "no")}  # noqa: E731
    snaps = [{"type": "orderbook_snapshot", "sid": 1, "seq": i + 1,
              "msg": {"market_ticker": t, "market_id": "m", "yes_dollars_fp": lv(t)["yes"], "no_dollars_fp": lv(t)["no"]}}
             for i, t in enumerate((good, bad))]
    at = NOW + timedelta(minutes=1)
    db.admin.execute("select ops.record_feed('c1', %s, %s)", (Jsonb(snaps), at))
    batch = [{"type": "orderbook_delta", "sid": 1, "seq": 3,
              "msg": {"market_ticker": good, "market_id": "m", "price_dollars": "0.0100", "delta_fp": "7.00", "side": "yes"}},
             {"type": "orderbook_delta", "sid": 1, "seq": 4,
              "msg": {"market_ticker": bad, "market_id": "m", "price_dollars": "cheap", "delta_fp": "7.00", "side": "yes"}},
             {"type": "orderbook_delta", "sid": 1, "seq": 5,
              "msg": {"market_ticker": bad, "market_id": "m", "price_dollars": "1.5000", "delta_fp": "7.00", "side": "no"}},
             {"type": "trade", "sid": 2, "seq": 1,
              "msg": {"trade_id": "t-ok", "market_ticker": good, "yes_price_dollars": "0.4000", "count_fp": "3.00",
                      "taker_side": "yes", "ts_ms": int(at.timestamp() * 1000)}}]
    r = db.admin.execute("select ops.record_feed('c1', %s, %s)", (Jsonb(batch), at + timedelta(seconds=1))).fetchone()[0]
    assert r["gaps"] == 0 and r["trades"] == 1 and len(r["refused"]) == 2 and r["resnapshot"] == [bad], r
    assert "cheap" in r["refused"][0]
    assert db.admin.execute("select qty from ops.book_levels where ticker = %s and side = 'yes' and price = 0.01",
                            (good,)).fetchone()[0] == 7 + (ws.book_now(good)["yes"].get(Decimal("0.01")) or 0)
    assert db.admin.execute("select trusted from ops.feed_books where ticker = %s", (bad,)).fetchone() == (False,)
    assert db.admin.execute("select trusted from ops.feed_books where ticker = %s", (good,)).fetchone() == (True,)
    assert db.admin.execute("""select yes_bid, yes_ask from ops.market_snapshots where ticker = %s
                                order by fetched_at desc, id desc limit 1""", (bad,)).fetchone() == (None, None)
    # the next message in sequence is not a gap
    r = db.admin.execute("select ops.record_feed('c1', %s, %s)", (Jsonb([{**batch[0], "seq": 6}]), at + timedelta(seconds=2))).fetchone()[0]
    assert r["gaps"] == 0 and r["resnapshot"] == [], r


def test_an_unsigned_upgrade_is_refused_and_retried(db, exchange):
    fakes, ws, url = exchange
    feed = FeedThread(db, url, None)
    try:
        wait_for(lambda: ws.rejected >= 2, "two refused upgrades (retried with back-off)", gone=feed.gone)
        assert ws.connections == 0
    finally:
        feed.stop()


def test_every_message_the_fake_sends_is_in_the_asyncapi_spec(db, running, shared_data):
    import jsonschema
    import yaml
    spec = yaml.safe_load((shared_data / "kalshi-websocket" / "asyncapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    by_type = {"orderbook_snapshot": "orderbookSnapshotPayload", "orderbook_delta": "orderbookDeltaPayload",
               "trade": "tradePayload", "subscribed": "subscribedResponsePayload", "ok": "okResponsePayload",
               "error": "errorResponsePayload", "unsubscribed": "unsubscribedResponsePayload"}
    fakes, ws, feed = running
    t = fakes.ticker()
    wait_for(lambda: same_book(db, ws, t), "the first snapshot", gone=feed.gone)
    ws.change(t, "yes", max(ws.book_now(t)["yes"]), Decimal("4"))
    ws.trade(t, Decimal("0.3100"), Decimal("5"), "no")
    wait_for(lambda: db.admin.execute("select count(*) from ops.tape_trades").fetchone()[0] == 1, "the trade on the tape",
             gone=feed.gone)
    seen = set()
    for msg in list(ws.sent):
        asyncapi_validator(schemas, by_type[msg["type"]]).validate(msg)
        seen.add(msg["type"])
    assert {"orderbook_snapshot", "orderbook_delta", "trade", "subscribed"} <= seen


def asyncapi_validator(schemas: dict, name: str):
    """A validator for one payload schema of the spec, its $refs resolved within the spec's components.
    The spec's marketTicker pattern ^[A-Z0-9-]+$ refuses its own examples ("HIGHNY-22DEC23-B53.5") and
    every real bracket ticker: the dot is allowed here, nothing else is relaxed."""
    schemas = {**schemas, "marketTicker": {**schemas["marketTicker"], "pattern": "^[A-Z0-9.-]+$"}}
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
    root = Resource(contents={"components": {"schemas": schemas}}, specification=DRAFT202012)
    registry = Registry().with_resource("urn:kalshi-asyncapi", root)
    return jsonschema.Draft202012Validator({"$ref": f"urn:kalshi-asyncapi#/components/schemas/{name}"}, registry=registry)


def test_subscriptions_follow_the_markets_sql_says_to_watch(db, running):
    fakes, ws, feed = running
    t = fakes.ticker()
    wait_for(lambda: same_book(db, ws, t), "the first snapshot", gone=feed.gone)
    db.admin.execute("update ops.markets set status = 'closed' where ticker = %s", (t,))
    wait_for(lambda: t not in ws.subscribed() and t not in ws.subscribed("trade"), "the closed market dropped",
             gone=feed.gone)
    ws.change(t, "yes", max(ws.book_now(t)["yes"]), Decimal("9"))       # not heard: not subscribed
    db.admin.execute("update ops.markets set status = 'active' where ticker = %s", (t,))
    wait_for(lambda: t in ws.subscribed() and same_book(db, ws, t), "the market added back, with a new snapshot",
             gone=feed.gone)


def test_the_tape_exports_as_candles_quotes_and_ticks(db, running, tmp_path):
    """`milkbot tape export`: the day's trades as 5-minute candles in the recorded prices' columns (cents),
    every top of book the feed saw, every trade -- from the database, through the CLI."""
    import csv
    import os
    import subprocess
    import sys
    fakes, ws, feed = running
    t = fakes.ticker()
    wait_for(lambda: same_book(db, ws, t), "the first snapshot", gone=feed.gone)
    ws.change(t, "yes", max(ws.book_now(t)["yes"]) + Decimal("0.01"), Decimal("6"))     # a new top: a quote row
    wait_for(lambda: same_book(db, ws, t), "the new top", gone=feed.gone)
    ws.trade(t, Decimal("0.3100"), Decimal("5"), "no", at=NOW)
    ws.trade(t, Decimal("0.3300"), Decimal("2"), "yes", at=NOW + timedelta(seconds=20))    # the same 5-minute candle
    wait_for(lambda: db.admin.execute("select count(*) from ops.tape_trades").fetchone()[0] == 2, "both trades on the tape",
             gone=feed.gone)
    day = NOW.date()
    env = {**os.environ, "MILKBOT_DB_NAME": db.name}
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "tape", "export", "--from", str(day), "--to", str(day),
                          str(tmp_path)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    candles = list(csv.DictReader((tmp_path / f"candles_5m_{day}_{day}.csv").open()))
    assert list(candles[0]) == ["market_id", "ticker", "start", "open", "high", "low", "close", "count"]
    assert [(c["ticker"], c["open"], c["high"], c["low"], c["close"], c["count"]) for c in candles] == \
        [(t, "31.0000", "33.0000", "31.0000", "33.0000", "2")]
    quotes = list(csv.DictReader((tmp_path / f"quotes_{day}_{day}.csv").open()))
    top = max(ws.book_now(t)["yes"])
    assert [(q["ticker"], q["yes_bid"], q["yes_bid_size"]) for q in quotes] == [(t, f"{top:.4f}", "6.00")]
    ticks = list(csv.DictReader((tmp_path / f"ticks_{day}_{day}.csv").open()))
    assert [(k["ticker"], k["yes_price"], k["count"], k["taker_side"]) for k in ticks] == \
        [(t, "0.3100", "5.00", "no"), (t, "0.3300", "2.00", "yes")]
    # the folder is a priced replay's prices: the listing reads back into the strikes the database holds
    from milkbot.priced_replay import read_prices
    rec = read_prices(tmp_path)
    assert rec.has_book and len(rec.quotes) == 1 and len(rec.ticks) == 2 and not rec.skipped
    strikes = {r[0]: (r[1], r[2], r[3]) for r in db.admin.execute(
        "select ticker, strike_type, floor_strike, cap_strike from ops.markets where kind in ('high', 'low')")}
    assert {m.ticker: (m.strike_type, m.floor, m.cap) for m in rec.markets} == \
        {k: (st, None if f is None else int(f), None if c is None else int(c)) for k, (st, f, c) in strikes.items()}
    bad = subprocess.run([sys.executable, "-m", "milkbot.cli", "tape", "export", "--from", str(day), "--to", "2000-01-01",
                          str(tmp_path)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "is before" in bad.stderr


def test_the_sims_books_move_without_crossing_and_the_feed_follows(db, running):
    """The demo's book mover (milkbot/sim/book_mover.py) through the same fake: many random steps, every
    book still uncrossed, the feed's book equal to the exchange's for every market it touched, and every
    level taken printed as a trade the tape holds."""
    from milkbot.sim.book_mover import BookMover
    fakes, ws, feed = running
    mover = BookMover(fakes.world, ws, every=0)
    # trades are not replayed to a late subscriber (books are, by their snapshots): start once the trade
    # channel is acknowledged
    wait_for(lambda: "trade" in feed.feed.sids and feed.feed.watched.get("trade"), "the trade subscription", gone=feed.gone)
    touched = set()
    for _ in range(150):
        before = dict(fakes.world.books)
        mover.step()
        touched |= set(fakes.world.books) - set(before) | {t for t in before if fakes.world.books.get(t) != before[t]}
    for t in fakes.world.books:
        bid, _bs, ask, _as = fakes.world.top(t)
        assert bid is None or ask is None or bid < ask, (t, bid, ask)
    watched = {r[0] for r in db.admin.execute("select ops.feed_markets(%s)", (NOW,)).fetchall()}
    followed = sorted(t for t in fakes.world.books if t in watched)
    assert len(followed) > 20
    wait_for(lambda: all(same_book(db, ws, t) for t in followed), "every moved book followed", gone=feed.gone)
    # a level taken whole is a public trade on the tape (what fills the demo's resting paper orders): every
    # one printed on a market the feed follows
    printed = [tid for tid, t in mover.printed if t in feed.feed.watched["trade"]]
    assert printed
    wait_for(lambda: db.admin.execute("select count(*) from ops.tape_trades where trade_id = any(%s)",
                                      (printed,)).fetchone()[0] == len(printed), "every printed trade taped", gone=feed.gone)


def test_the_feed_keeps_a_quiet_markets_rest_quote_current(db, running):
    """A book nobody touches: REST wrote its quote before the feed connected; the feed, seeing the same top,
    keeps that row current (last_seen_at moves), so the market is not stale between REST polls."""
    fakes, ws, feed = running
    t = fakes.ticker()
    wait_for(lambda: same_book(db, ws, t), "the first snapshot", gone=feed.gone)
    row = lambda: db.admin.execute("""select source, last_seen_at from ops.market_snapshots where ticker = %s
                                       order by fetched_at desc, id desc limit 1""", (t,)).fetchone()
    assert row()[0] == "orderbook"                                   # the feed's top is REST's: no new row
    wait_for(lambda: row()[1] is not None and row()[1] >= NOW, "the REST row confirmed by the feed", gone=feed.gone)


def test_a_channel_not_yet_acknowledged_catches_up_on_the_markets_it_missed():
    """The trade channel's subscription is acknowledged after the order book's 240 snapshots: a market
    closed in between was dropped from the book channel only, and the trade channel kept it for good
    (seen under a slow clock). Each channel now follows on its own once its sid is known."""
    import json

    class Socket:
        def __init__(self):
            self.sent = []

        async def send(self, text):
            self.sent.append(json.loads(text))

    feed = Feed("unused", "ws://unused", None)
    ws = Socket()
    asyncio.run(feed._subscribe(ws, {"A", "B"}))
    feed.sids = {"orderbook_delta": 4}                          # the trade channel not acknowledged yet
    asyncio.run(feed._follow(ws, {"A"}))
    asyncio.run(feed._follow(ws, {"A"}))
    feed.sids["trade"] = 5                                      # its ack arrives
    asyncio.run(feed._follow(ws, {"A"}))
    updates = [(m["params"]["sids"], m["params"]["action"], m["params"]["market_tickers"]) for m in ws.sent
               if m["cmd"] == "update_subscription"]
    assert updates == [([4], "delete_markets", ["B"]), ([5], "delete_markets", ["B"])]
