"""The demo's world (milkbot/sim/history_world.py, issue 28 §1) on the real recorded data: days played
by recorded days, real forecasts as they were issued, ladders that do not reveal the outcome, a market
that learns the day, the recorded Kalshi ladders and trades where they exist, settlement, and books that
follow the market without ever crossing. Without ../shared the same world is synthetic and says so."""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from conftest import SHARED_DATA
from milkbot.sim.history_world import HistoryWorld, SimMarketMaker, bracket_of
from milkbot.sim.world import BY_CODE

NYC, DEN, CHI = BY_CODE["NYC"], BY_CODE["DEN"], BY_CODE["CHI"]


@pytest.fixture(scope="module")
def world():
    if not (SHARED_DATA / "history" / "truth.csv").is_file():
        pytest.skip("../shared/data is absent")
    return HistoryWorld(SHARED_DATA / "history")


def at(w: HistoryWorld, city, day: date, hours: float) -> HistoryWorld:
    w.now_fixed = w.day_start(city, day) + timedelta(hours=hours)
    return w


def truth(city: str, day: str) -> int:
    with open(SHARED_DATA / "history" / "truth.csv", newline="") as f:
        return next(int(r["value_f"]) for r in csv.DictReader(f)
                    if r["city"] == city and r["date"] == day and r["kind"] == "high")


def test_a_sim_day_is_played_by_the_same_calendar_day_of_the_record(world):
    assert world.recorded_day(NYC, date(2026, 12, 7)) == date(2025, 12, 7)
    assert world.high(NYC, date(2026, 12, 7)) == truth("NYC", "2025-12-07")
    assert world.high(DEN, date(2031, 12, 7)) == truth("DEN", "2025-12-07")
    # a day the record does not have (it starts on 21 February): a recorded day all the same, always the same one
    missing = world.recorded_day(CHI, date(2026, 1, 5))
    assert missing in world.truth["CHI"] and missing == world.recorded_day(CHI, date(2026, 1, 5))
    assert world.low(NYC, date(2026, 12, 7)) <= world.high(NYC, date(2026, 12, 7)) - 3


def test_the_forecast_served_is_the_one_issued_by_then(world):
    # DEN's forecasts for 2025-12-07 were issued daily at ~08:05Z from 12-01 (44, 47, 46, 41, 41, 43, 43 °F)
    day = date(2026, 12, 7)
    world.now_fixed = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
    assert world.forecast_high(DEN, day) == 41                    # the 12-05 08:04 issue
    world.now_fixed = datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
    assert world.forecast_high(DEN, day) == 47                    # before the 12-03 issue: the 12-02 one
    world.now_fixed = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert world.forecast_high(DEN, day) == 44                    # before any: the earliest
    # a city without recorded forecasts: seeded, near the truth, the same every time it is asked
    world.now_fixed = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
    f = world.forecast_high(CHI, day)
    assert f == world.forecast_high(CHI, day) and abs(f - world.high(CHI, day)) <= 8


def test_the_ladder_is_fixed_at_listing_and_the_market_learns_the_day(world):
    day = date(2026, 12, 7)
    ladder = at(world, NYC, day, -20).ladder(NYC, day, "high")
    assert [b["ticker"] for b in ladder] == [b["ticker"] for b in at(world, NYC, day, 30).ladder(NYC, day, "high")]
    centre = ladder[0]["centre"]
    assert centre == world.forecast_high(NYC, day, world.listed_at(NYC, day))
    hi = world.high(NYC, day)
    right = next(b for b in ladder if world.bounds(b)[0] < hi < world.bounds(b)[1])
    before = at(world, NYC, day, -6).fair_yes(right)
    after = at(world, NYC, day, 23).fair_yes(right)
    assert before < Decimal("0.9") and after == Decimal("0.99"), (before, after)
    # a ladder of probabilities: near one in all before the day
    total = sum(at(world, NYC, day, -6).fair_yes(b) for b in ladder)
    assert Decimal("0.9") <= total <= Decimal("1.1"), total


def test_settles_two_hours_after_the_day_on_the_truth(world):
    day = date(2026, 12, 7)
    ladder = world.ladder(NYC, day, "high")
    assert {at(world, NYC, day, 25.9).result(b["ticker"]) for b in ladder} == {""}
    results = [at(world, NYC, day, 26).result(b["ticker"]) for b in ladder]
    assert sorted(results) == ["no"] * 5 + ["yes"]


def test_recorded_kalshi_ladders_and_trades_where_they_exist(world):
    # NYC's high of 2025-07-10 has recorded markets: 76 or below, 77-78, ..., 83-84 (yes: 84 °F), 85 or above
    day = date(2026, 7, 10)
    ladder = world.ladder(NYC, day, "high")
    assert [b["ticker"] for b in ladder] == ["KXHIGHNY-26JUL10-T77", "KXHIGHNY-26JUL10-B77.5", "KXHIGHNY-26JUL10-B79.5",
                                             "KXHIGHNY-26JUL10-B81.5", "KXHIGHNY-26JUL10-B83.5", "KXHIGHNY-26JUL10-T84"]
    assert (ladder[0]["strike_type"], ladder[0]["cap"]) == ("less", 77)
    assert (ladder[-1]["strike_type"], ladder[-1]["floor"]) == ("greater", 84)
    # at 16:10Z the last recorded trade of the 85-or-above market was the 16:05-16:10 candle's close, 7 cents
    world.now_fixed = datetime(2026, 7, 10, 16, 10, tzinfo=timezone.utc)
    assert world.fair_yes(ladder[-1]) == Decimal("0.07")
    world.now_fixed = datetime(2026, 7, 11, 7, tzinfo=timezone.utc)
    assert [world.result(b["ticker"]) for b in ladder] == ["no", "no", "no", "no", "yes", "no"]
    assert "recorded Kalshi prices (NYC high" in world.describe()


def test_bracket_of_a_recorded_subtitle():
    assert bracket_of("85° or above") == {"strike_type": "greater", "floor": 84, "cap": None, "yes": "85° or above"}
    assert bracket_of("76° or below")["cap"] == 77
    assert (bracket_of("83° to 84°")["floor"], bracket_of("83° to 84°")["cap"]) == (83, 84)
    assert bracket_of("above 3 inches") is None


class Tape:
    """The WebSocket fake's two calls the market maker makes, applied to the world like the fake does."""

    def __init__(self, world):
        self.world, self.trades = world, []

    def change(self, ticker, side, price, delta):
        self.world.change_book(ticker, side, price, delta)

    def trade(self, ticker, yes_price, count, taker_side):
        self.trades.append((ticker, yes_price, count, taker_side))
        return f"t{len(self.trades)}"


class Printed:
    printed: list = []


def test_books_follow_the_market_taking_what_it_moves_through_and_never_cross(shared_data):
    w = HistoryWorld(shared_data / "history")
    day = date(2026, 12, 7)
    at(w, NYC, day, 6)
    tape = Tape(w)
    maker = SimMarketMaker(w, tape, Printed())
    ticker = next(b for b in w.ladder(NYC, day, "high") if b["strike_type"] == "between")["ticker"]
    early = w.levels(ticker)                      # pinned when first seen
    for hours in (8, 11, 14, 17, 22):
        at(w, NYC, day, hours)
        maker.step()
        book = w.levels(ticker)
        bid, ask = w.quote(ticker, w.find_bracket(ticker)[3])
        assert max(book["yes"], default=Decimal(0)) <= bid and max(book["no"], default=Decimal(0)) <= 1 - ask
        assert max(book["yes"], default=Decimal(0)) + max(book["no"], default=Decimal(0)) < 1       # never crossed
    assert w.levels(ticker) != early and maker.reanchored > 0
    assert tape.trades and all(t[3] in ("yes", "no") and t[2] > 0 for t in tape.trades)


def test_without_the_record_the_world_is_synthetic_and_says_so(tmp_path):
    w = HistoryWorld(tmp_path)
    assert w.synthetic_only and "synthetic" in w.describe()
    day = date(2026, 12, 7)
    ladder = at(w, NYC, day, 30).ladder(NYC, day, "high")
    assert sorted(w.result(b["ticker"]) for b in ladder) == ["no"] * 5 + ["yes"]
