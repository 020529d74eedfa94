"""Kalshi market-data payloads -> plain rows. Pure functions. Current wire shapes only (2026):
`*_dollars` price strings and `*_fp` count strings, parsed exactly; `orderbook_fp` with bids only."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from workers.common.wire import PayloadError, dollars, fp_count, number, timestamp

STATUSES = {"initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized"}
STRIKE_TYPES = {"greater", "greater_or_equal", "less", "less_or_equal", "between", "functional", "custom", "structured"}
PRICED_STRIKE_TYPES = {"greater", "greater_or_equal", "less", "less_or_equal", "between"}   # ops.yes_lo / ops.yes_hi
FEE_TYPES = {"quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"}
MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
EVENT_DATE = re.compile(r"-(\d{2})([A-Z]{3})(\d{2})$")
EVENT_MONTH = re.compile(r"-(\d{2})([A-Z]{3})$")
# Monthly series as Kalshi lists them (kalshi-api.md §5, seen on live tickers): rain KXRAIN<CITY>M
# (KXRAINNYCM-26APR-2), snow KX<CITY>SNOWM (KXNYCSNOWM-26MAR-3); <CITY> is the city's 3-letter code
MONTHLY_SERIES = ((re.compile(r"^KXRAIN([A-Z]{3})M$"), "monthly_rain"), (re.compile(r"^KX([A-Z]{3})SNOWM$"), "monthly_snow"))


@dataclass(frozen=True)
class Listing:
    ticker: str
    title: str
    category: str


def parse_series_list(payload: dict) -> list[Listing]:
    """GET /series -> the listed series (a malformed entry is an error naming it, never skipped silently)."""
    items = payload.get("series") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise PayloadError("series list: no series array")
    out = []
    for i, s in enumerate(items):
        if not isinstance(s, dict) or not isinstance(s.get("ticker"), str) or not s["ticker"]:
            raise PayloadError(f"series list: entry {i} has no ticker")
        out.append(Listing(s["ticker"], str(s.get("title") or ""), str(s.get("category") or "")))
    return out


def monthly_kind(series_ticker: str, cities: set[str]) -> tuple[str, str] | None:
    """(city, kind) when the series is a monthly rain/snow series of one of our cities, else None."""
    for rx, kind in MONTHLY_SERIES:
        m = rx.match(series_ticker)
        if m and m.group(1) in cities:
            return m.group(1), kind
    return None


@dataclass(frozen=True)
class Series:
    ticker: str
    fee_type: str
    fee_multiplier: Decimal
    settlement_sources: tuple | None = None   # [{name, url}] from GET /series: who settles it


def parse_series(payload: dict) -> Series:
    s = payload.get("series") if isinstance(payload, dict) else None
    if not isinstance(s, dict) or not s.get("ticker"):
        raise PayloadError("series: no series object")
    fee_type = s.get("fee_type") or "quadratic"
    if fee_type not in FEE_TYPES:
        raise PayloadError(f"series {s['ticker']}: unknown fee_type {fee_type!r}")
    mult = number(s.get("fee_multiplier", 1), "fee_multiplier")
    if mult is None or mult < 0:
        raise PayloadError(f"series {s['ticker']}: bad fee_multiplier {s.get('fee_multiplier')!r}")
    sources = s.get("settlement_sources")
    if sources is not None and (not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources)):
        raise PayloadError(f"series {s['ticker']}: settlement_sources is not a list of objects")
    return Series(str(s["ticker"]), fee_type, mult,
                  None if sources is None else tuple({"name": x.get("name"), "url": x.get("url")} for x in sources))


def event_date(event_ticker: str, monthly: bool = False) -> date:
    """KXHIGHNY-26SEP23 -> 2026-09-23; a monthly event, KXRAINNYCM-26APR -> 2026-04-01 (its month)."""
    if monthly:
        m = EVENT_MONTH.search(event_ticker or "")
        if not m or m.group(2) not in MONTHS:
            raise PayloadError(f"event ticker {event_ticker!r} carries no YYMON month")
        return date(2000 + int(m.group(1)), MONTHS[m.group(2)], 1)
    m = EVENT_DATE.search(event_ticker or "")
    if not m or m.group(2) not in MONTHS:
        raise PayloadError(f"event ticker {event_ticker!r} carries no YYMONDD date")
    try:
        return date(2000 + int(m.group(1)), MONTHS[m.group(2)], int(m.group(3)))
    except ValueError:
        raise PayloadError(f"event ticker {event_ticker!r} has an impossible date") from None


def parse_price_ranges(value, ticker: str) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise PayloadError(f"{ticker}: price_ranges missing")
    out = []
    for i, r in enumerate(value):
        if not isinstance(r, dict):
            raise PayloadError(f"{ticker}: price_ranges[{i}] is not an object")
        start, end = dollars(r.get("start"), "price_ranges.start"), dollars(r.get("end"), "price_ranges.end")
        step = dollars(r.get("step"), "price_ranges.step")
        if step <= 0 or start > end:
            raise PayloadError(f"{ticker}: price_ranges[{i}] is not a grid: {r}")
        out.append({"start": str(start), "end": str(end), "step": str(step)})
    return out


def parse_market(m: dict, *, series: Series, city_code: str, kind: str) -> dict:
    """One market object -> an ops.markets row (dict)."""
    if not isinstance(m, dict) or not m.get("ticker"):
        raise PayloadError("market without a ticker")
    t = str(m["ticker"])
    event = str(m.get("event_ticker") or "")
    if not t.startswith(event + "-") or not event.startswith(series.ticker + "-"):
        raise PayloadError(f"{t}: ticker, event {event!r} and series {series.ticker!r} do not nest")
    status = m.get("status")
    if status not in STATUSES:
        raise PayloadError(f"{t}: unknown status {status!r}")
    strike_type = m.get("strike_type")
    if strike_type not in STRIKE_TYPES:
        raise PayloadError(f"{t}: unknown strike_type {strike_type!r}")
    if strike_type not in PRICED_STRIKE_TYPES:
        # a shape the model does not price would be stored with no bounds: p = 1, and its ladder would look
        # complete. Refused with the reason (the ingest records it as a health event)
        raise PayloadError(f"{t}: strike_type {strike_type!r} is not a shape the model prices (refused)")
    floor_strike, cap_strike = number(m.get("floor_strike"), "floor_strike"), number(m.get("cap_strike"), "cap_strike")
    if strike_type == "between" and (floor_strike is None or cap_strike is None or floor_strike > cap_strike):
        raise PayloadError(f"{t}: between market needs floor <= cap (got {floor_strike}, {cap_strike})")
    if strike_type in ("greater", "greater_or_equal") and floor_strike is None:
        raise PayloadError(f"{t}: {strike_type} market without floor_strike")
    if strike_type in ("less", "less_or_equal") and cap_strike is None:
        raise PayloadError(f"{t}: {strike_type} market without cap_strike")
    result = m.get("result") or ""
    if result not in ("", "yes", "no", "scalar"):
        raise PayloadError(f"{t}: unknown result {result!r}")
    open_time, close_time = timestamp(m.get("open_time"), "open_time"), timestamp(m.get("close_time"), "close_time")
    if close_time <= open_time:
        raise PayloadError(f"{t}: close_time is not after open_time")
    return {
        "ticker": t, "event_ticker": event, "series_ticker": series.ticker, "city_code": city_code,
        "climate_date": event_date(event, monthly=kind.startswith("monthly_")), "kind": kind, "strike_type": strike_type,
        "floor_strike": floor_strike, "cap_strike": cap_strike, "open_time": open_time, "close_time": close_time,
        "expiration_time": timestamp(m.get("expected_expiration_time") or m.get("latest_expiration_time")
                                     or m.get("expiration_time"), "expiration_time", allow_none=True),
        "status": status, "result": result,
        "price_ranges": json.dumps(parse_price_ranges(m.get("price_ranges"), t)),
        "fee_type": series.fee_type, "fee_multiplier": series.fee_multiplier,
        "volume": fp_count(m.get("volume_fp"), "volume_fp", allow_none=True),
        "open_interest": fp_count(m.get("open_interest_fp"), "open_interest_fp", allow_none=True),
        "rules_primary": _text(m.get("rules_primary"), "rules_primary", t),
        "expiration_value": _expiration_value(m.get("expiration_value"), t),
        "settlement_sources": None if series.settlement_sources is None else json.dumps(list(series.settlement_sources)),
    }


def _text(value, field: str, ticker: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{ticker}: {field} is not a string")
    return value


def _expiration_value(value, ticker: str) -> str | None:
    """The value the market settled on: '' until then; for temperature markets a number of °F."""
    text = _text(value, "expiration_value", ticker)
    if text is not None and number(text, "expiration_value") is None:
        raise PayloadError(f"{ticker}: expiration_value {text!r} is not a number")
    return text


@dataclass(frozen=True)
class Book:
    yes_bid: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask: Decimal | None
    yes_ask_size: Decimal | None

    def content_hash(self) -> str:
        return hashlib.sha256(repr((self.yes_bid, self.yes_bid_size, self.yes_ask, self.yes_ask_size)).encode()).hexdigest()


def _best(levels, side: str, ticker: str) -> tuple[Decimal | None, Decimal | None]:
    if levels is None:
        return None, None
    if not isinstance(levels, list):
        raise PayloadError(f"{ticker}: orderbook {side} is not a list")
    best = None
    for i, lvl in enumerate(levels):
        if not (isinstance(lvl, list) and len(lvl) == 2):
            raise PayloadError(f"{ticker}: orderbook {side}[{i}] is not a [price, count] pair")
        price, qty = dollars(lvl[0], f"{side}[{i}].price"), fp_count(lvl[1], f"{side}[{i}].count")
        if not Decimal(0) < price < Decimal(1):
            # a contract trades strictly between 0 and 1: a bid at 0 or 1 would become an ask of 1 or 0
            raise PayloadError(f"{ticker}: orderbook {side}[{i}] price {price} outside (0, 1)")
        if qty > 0 and (best is None or price > best[0]):
            best = (price, qty)   # levels come ascending; take the max anyway
    return best if best else (None, None)


def parse_orderbook(payload: dict, ticker: str) -> Book:
    """orderbook_fp -> best YES bid and ask (YES ask = 1 - best NO bid). An empty side is no quote."""
    ob = payload.get("orderbook_fp") if isinstance(payload, dict) else None
    if not isinstance(ob, dict):
        raise PayloadError(f"{ticker}: no orderbook_fp object")
    yb, ybs = _best(ob.get("yes_dollars"), "yes_dollars", ticker)
    nb, nbs = _best(ob.get("no_dollars"), "no_dollars", ticker)
    ya = (Decimal(1) - nb) if nb is not None else None
    if yb is not None and ya is not None and yb > ya:
        raise PayloadError(f"{ticker}: crossed book (YES bid {yb} > YES ask {ya})")
    return Book(yb, ybs, ya, nbs)
