"""NWS and Kalshi parsers on real recorded payloads (../shared/data) and on our own fixtures."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from workers.common.wire import PayloadError, c_to_f, dollars, fp_count
from workers.ingest import nws
from workers.ingest.kalshi_market import Series, parse_market, parse_orderbook, parse_series

EST = timedelta(hours=-5)


def load(shared, rel):
    return json.loads((shared / "recordings" / rel).read_text())


def test_points_recordings_give_the_documented_grids(shared_data):
    g = nws.parse_points(load(shared_data, "nws/NYC_points_canonical.json"))
    assert (g.grid_id, g.grid_x, g.grid_y) == ("OKX", 34, 45)
    expected = {"KMDW": ("LOT", 72, 69), "KBOS": ("BOX", 73, 101), "KMIA": ("MFL", 105, 51), "KAUS": ("EWX", 158, 87),
                "KDEN": ("BOU", 75, 66), "KLAX": ("LOX", 149, 41), "KSFO": ("MTR", 85, 98), "KSEA": ("SEW", 124, 60)}
    for icao, grid in expected.items():
        [path] = (shared_data / "recordings/nws").glob(f"points_{icao}_*.json")
        g = nws.parse_points(json.loads(path.read_text()))
        assert (g.grid_id, g.grid_x, g.grid_y) == grid


def test_301_points_reply_is_not_a_grid(shared_data):
    with pytest.raises(PayloadError):
        nws.parse_points(load(shared_data, "nws/NYC_points.json"))


def test_12h_forecast_recording_assigns_climate_days(shared_data):
    issued, generated, values = nws.parse_forecast_12h(load(shared_data, "nws/NYC_forecast.json"), EST)
    assert issued == datetime(2026, 8, 28, 18, 11, 31, tzinfo=timezone.utc)
    assert generated == datetime(2026, 8, 29, 3, 45, 17, tzinfo=timezone.utc)
    # "Tonight" (Aug 28 23:00 EDT -> Aug 29 06:00 EDT) is the low of Aug 29; the next day period its high
    assert values[0] == nws.ForecastValue(date(2026, 8, 29), "low", Decimal("64.00"))
    assert values[1] == nws.ForecastValue(date(2026, 8, 29), "high", Decimal("80.00"))


def test_hourly_recording_uses_standard_time_days(shared_data):
    _, _, values = nws.parse_hourly(load(shared_data, "nws/NYC_forecast_hourly.json"), EST)
    days = sorted({v.climate_date for v in values})
    assert days[0] == date(2026, 8, 29)          # Aug 28 is only partly covered: not emitted
    assert all(v.forecast_f.as_tuple().exponent == -2 for v in values)


def test_hourly_whole_day_extremes_include_the_night_hours(shared_data):
    """Issue 24 §1, on the recorded hourly forecast reshaped: the day's high set in its first hour
    (00:00-01:00 EST, 01:00 EDT on the civil clock) and another's in its last (23:00-24:00 EST, which is
    00:00 EDT of the next civil date): each is its own climate day's high; a daytime-only product misses both."""
    payload = load(shared_data, "nws/NYC_forecast_hourly.json")
    hours = {p["startTime"]: p for p in payload["periods"]}
    hours["2026-08-30T01:00:00-04:00"]["temperature"] = 95          # 00:00 EST Aug 30: the 00:41 high
    hours["2026-09-01T00:00:00-04:00"]["temperature"] = 97          # 23:00 EST Aug 31: the 23:50 high
    _, _, values = nws.parse_hourly(payload, EST)
    high = {v.climate_date: v.forecast_f for v in values if v.kind == "high"}
    assert high[date(2026, 8, 30)] == Decimal("95.00")
    assert high[date(2026, 8, 31)] == Decimal("97.00")
    assert high[date(2026, 9, 1)] < 97                                # not the civil date's


def test_gridpoint_celsius_fractions_convert_exactly():
    payload = {"properties": {"updateTime": "2026-11-25T17:00:00+00:00", "maxTemperature": {"uom": "wmoUnit:degC", "values": [
        {"validTime": "2026-11-26T12:00:00+00:00/PT13H", "value": 9.444444444444445},
        {"validTime": "2026-11-27T12:00:00+00:00/PT13H", "value": None}]},
        "minTemperature": {"uom": "unit:degC", "values": [
            {"validTime": "2026-11-26T00:00:00+00:00/PT14H", "value": -1.1111111111111112}]}}}
    issued, values = nws.parse_gridpoint(payload, EST)
    assert values == [nws.ForecastValue(date(2026, 11, 26), "high", Decimal("49.00")),
                      nws.ForecastValue(date(2026, 11, 26), "low", Decimal("30.00"))]


def test_gridpoint_rejects_bad_payloads():
    with pytest.raises(PayloadError, match="maxTemperature layer missing"):
        nws.parse_gridpoint({"properties": {"updateTime": "2026-11-25T17:00:00+00:00"}}, EST)
    with pytest.raises(PayloadError, match="not a plausible"):
        nws.parse_gridpoint({"properties": {"updateTime": "2026-11-25T17:00:00+00:00",
                                            "maxTemperature": {"uom": "wmoUnit:degC", "values": [{"validTime": "2026-11-26T12:00:00+00:00/PT13H", "value": 500}]},
                                            "minTemperature": {"uom": "wmoUnit:degC", "values": []}}}, EST)
    with pytest.raises(PayloadError, match="interval"):
        nws.parse_interval("2026-11-26T12:00:00+00:00")


def test_observations_skip_nulls_and_failed_qc():
    feats = [{"properties": {"timestamp": "2026-11-25T17:51:00+00:00", "temperature": {"unitCode": "wmoUnit:degC", "value": 8.3, "qualityControl": "V"}}},
             {"properties": {"timestamp": "2026-11-25T16:51:00+00:00", "temperature": {"unitCode": "wmoUnit:degC", "value": None, "qualityControl": "Z"}}},
             {"properties": {"timestamp": "2026-11-25T15:51:00+00:00", "temperature": {"unitCode": "wmoUnit:degC", "value": 30.0, "qualityControl": "X"}}}]
    rows, skipped = nws.parse_observations({"features": feats})
    assert [(r.temp_c, r.temp_f, r.qc) for r in rows] == [(Decimal("8.30"), Decimal("46.94"), "V")] and skipped == 2


def _obs(value, raw, at="2026-11-25T18:51:00+00:00"):
    return {"properties": {"timestamp": at, "rawMessage": raw,
                           "temperature": {"unitCode": "wmoUnit:degC", "value": value, "qualityControl": "V"}}}


def test_metar_tenths_group_decides_the_bracket():
    """21 °C in the JSON is 69.8 °F (settles 70); the METAR's T-group says 20.6 °C = 69.08 °F (settles 69)."""
    raw = "KNYC 251851Z 27008KT 10SM FEW250 21/12 A3012 RMK AO2 SLP201 T02060122 10217 20194 58012"
    (row,), _ = nws.parse_observations({"features": [_obs(21.0, raw)]})
    assert (row.temp_c, row.temp_f, row.precision) == (Decimal("20.60"), Decimal("69.08"), "tenths")
    assert round(row.temp_f) == 69 and round(c_to_f(Decimal(21))) == 70
    # the synoptic 6-hourly extremes: 1snTTT max 21.7 °C, 2snTTT min 19.4 °C (and 58012 is pressure, not a max)
    assert (row.max6h_f, row.min6h_f) == (c_to_f(Decimal("21.7")), c_to_f(Decimal("19.4")))


def test_metar_groups_below_zero_absent_or_inconsistent():
    (row,), _ = nws.parse_observations({"features": [_obs(-6.0, "KDEN 251853Z 00000KT 10SM CLR M06/M08 A3040 RMK AO2 T10561078 11033 21061")]})
    assert (row.temp_c, row.max6h_f, row.min6h_f) == (Decimal("-5.60"), c_to_f(Decimal("-3.3")), c_to_f(Decimal("-6.1")))
    # no remarks: the JSON value, marked whole; a T-group that contradicts the reading is not trusted
    (row,), _ = nws.parse_observations({"features": [_obs(21.0, "KNYC 251851Z 27008KT 10SM FEW250 21/12 A3012")]})
    assert (row.temp_c, row.precision, row.max6h_f) == (Decimal("21.00"), "whole", None)
    (row,), _ = nws.parse_observations({"features": [_obs(21.0, "KNYC 251851Z 21/12 A3012 RMK AO2 T01560122")]})
    assert (row.temp_c, row.precision) == (Decimal("21.00"), "whole")
    # groups before RMK are not remarks (10217 in the body is not a 6-hour max)
    (row,), _ = nws.parse_observations({"features": [_obs(21.0, "KNYC 251851Z 10217 21/12 RMK AO2")]})
    assert row.max6h_f is None
    with pytest.raises(PayloadError, match="6-hour max"):
        nws.parse_observations({"features": [_obs(21.0, "KNYC 251851Z 21/12 RMK AO2 T02060122 10917")]})


def test_market_settlement_fields(shared_data):
    body = json.loads(next((shared_data / "recordings" / "kalshi").glob("markets_open_KXHIGHCHI_*.json")).read_text())
    s = parse_series({"series": {"ticker": "KXHIGHCHI", "fee_type": "quadratic", "fee_multiplier": 1,
                                 "settlement_sources": [{"name": "The Weather Company", "url": "https://weather.com/kalshi"}]}})
    row = parse_market(body["markets"][0], series=s, city_code="CHI", kind="high")
    assert "according to The Weather Company" in row["rules_primary"] and row["expiration_value"] is None
    assert json.loads(row["settlement_sources"]) == [{"name": "The Weather Company", "url": "https://weather.com/kalshi"}]
    settled = {**body["markets"][0], "status": "finalized", "result": "no", "expiration_value": "68"}
    assert parse_market(settled, series=s, city_code="CHI", kind="high")["expiration_value"] == "68"
    with pytest.raises(PayloadError, match="expiration_value"):
        parse_market({**settled, "expiration_value": "sixty-eight"}, series=s, city_code="CHI", kind="high")


def test_wire_values_are_exact():
    assert dollars("0.4200", "p") == Decimal("0.42") and fp_count("13.00", "c") == Decimal("13")
    assert c_to_f(Decimal("-40")) == Decimal("-40.00")
    for bad in ("1.5", "-0.01", "abc", 0.42):
        with pytest.raises(PayloadError):
            dollars(bad, "p")


@pytest.mark.parametrize("name, series, city, kind", [
    ("markets_open_KXHIGHCHI_20260924T224050Z.json", "KXHIGHCHI", "CHI", "high"),
    ("markets_open_KXLOWTCHI_20260924T224245Z.json", "KXLOWTCHI", "CHI", "low"),
    ("markets_open_KXHIGHTSEA_20260924T224135Z.json", "KXHIGHTSEA", "SEA", "high"),
])
def test_recorded_markets_parse(shared_data, name, series, city, kind):
    body = load(shared_data, f"kalshi/{name}")
    rows = [parse_market(m, series=Series(series, "quadratic", Decimal(1)), city_code=city, kind=kind) for m in body["markets"]]
    assert len(rows) == 12 and {r["status"] for r in rows} == {"active"}
    for event in {r["event_ticker"] for r in rows}:
        ladder = sorted((r for r in rows if r["event_ticker"] == event), key=lambda r: (r["floor_strike"] or -999))
        assert [r["strike_type"] for r in ladder].count("between") == 4
        assert {r["strike_type"] for r in ladder} == {"less", "between", "greater"}


def test_recorded_orderbook_matches_the_market_quote(shared_data):
    markets = load(shared_data, "kalshi/markets_open_KXHIGHCHI_20260924T224050Z.json")["markets"]
    m = next(x for x in markets if x["ticker"] == "KXHIGHCHI-26SEP25-B68.5")
    book = parse_orderbook(load(shared_data, "kalshi/orderbook_KXHIGHCHI-26SEP25-B68.5_20260924T224249Z.json"), m["ticker"])
    assert (book.yes_bid, book.yes_ask) == (Decimal(m["yes_bid_dollars"]), Decimal(m["yes_ask_dollars"]))
    assert book.yes_bid_size == Decimal(m["yes_bid_size_fp"])


def test_empty_side_is_no_quote_not_zero():
    book = parse_orderbook({"orderbook_fp": {"yes_dollars": [], "no_dollars": [["0.6000", "10.00"]]}}, "T")
    assert book.yes_bid is None and book.yes_bid_size is None and book.yes_ask == Decimal("0.4")


@pytest.mark.parametrize("payload, message", [
    ({"orderbook": {"yes": [[42, 10]]}}, "no orderbook_fp"),
    ({"orderbook_fp": {"yes_dollars": [["1.2000", "10.00"]], "no_dollars": []}}, "outside"),
    ({"orderbook_fp": {"yes_dollars": [["0.5000"]], "no_dollars": []}}, "pair"),
    ({"orderbook_fp": {"yes_dollars": [["0.7000", "5.00"]], "no_dollars": [["0.5000", "5.00"]]}}, "crossed"),
    ({"orderbook_fp": {"yes_dollars": [["0.0000", "5.00"]], "no_dollars": []}}, r"outside \(0, 1\)"),
    ({"orderbook_fp": {"yes_dollars": [], "no_dollars": [["1.0000", "5.00"]]}}, r"outside \(0, 1\)"),
])
def test_bad_books_are_refused(payload, message):
    with pytest.raises(PayloadError, match=message):
        parse_orderbook(payload, "T")


def test_bad_markets_are_refused():
    s = Series("KXHIGHNY", "quadratic", Decimal(1))
    base = {"ticker": "KXHIGHNY-26NOV26-B50.5", "event_ticker": "KXHIGHNY-26NOV26", "status": "active",
            "strike_type": "between", "floor_strike": 50, "cap_strike": 51, "open_time": "2026-11-25T15:00:00Z",
            "close_time": "2026-11-27T04:59:00Z", "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]}
    assert parse_market(base, series=s, city_code="NYC", kind="high")["climate_date"] == date(2026, 11, 26)
    for change, msg in (({"status": "weird"}, "unknown status"), ({"cap_strike": None}, "floor <= cap"),
                        ({"event_ticker": "KXHIGHCHI-26NOV26"}, "do not nest"), ({"price_ranges": []}, "price_ranges"),
                        ({"close_time": "2026-11-24T00:00:00Z"}, "close_time"),
                        ({"strike_type": "functional"}, "not a shape the model prices"),
                        ({"strike_type": "custom"}, "not a shape the model prices"),
                        ({"strike_type": "structured"}, "not a shape the model prices")):
        with pytest.raises(PayloadError, match=msg):
            parse_market({**base, **change}, series=s, city_code="NYC", kind="high")
    with pytest.raises(PayloadError, match="fee_type"):
        parse_series({"series": {"ticker": "KXHIGHNY", "fee_type": "mystery"}})
