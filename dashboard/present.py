"""Words and numbers for visitors: city names, clusters, prices, ages, component names. Pure functions,
no Streamlit, no I/O."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

CLUSTERS = {"Northeast": ["NYC", "BOS", "PHL"], "Midwest": ["CHI", "DEN"],
            "West": ["LAX", "SFO", "SEA"], "South": ["AUS", "MIA"]}
CITY_NAMES = {"NYC": "New York", "BOS": "Boston", "PHL": "Philadelphia", "CHI": "Chicago", "DEN": "Denver",
              "LAX": "Los Angeles", "SFO": "San Francisco", "SEA": "Seattle", "AUS": "Austin", "MIA": "Miami"}
COMPONENTS = {"all": "Milkbot overall", "nws_ingest": "Weather data collection (National Weather Service)",
              "kalshi_ingest": "Market data collection (Kalshi)", "cycle": "Pricing and decisions",
              "executor": "Order placement", "analytics": "Public statistics", "database": "Database",
              "reconciler": "Position checks with the exchange"}
STATUS_WORDS = {"ok": "working", "degraded": "slow or with errors", "down": "not responding"}
DATA_HEALTH_WORDS = {"ok": "data fresh", "no forecast yet": "no forecast yet", "forecast stale": "forecast out of date",
                     "observations stale": "observations out of date"}


def city_name(code: str) -> str:
    return CITY_NAMES.get(code, code)


def instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def day_words(text: str | date | None) -> str:
    if text is None:
        return ""
    d = date.fromisoformat(text) if isinstance(text, str) else text
    return f"{d:%b} {d.day}"


def month_words(text: str | date | None) -> str:
    if text is None:
        return ""
    d = date.fromisoformat(text) if isinstance(text, str) else text
    return f"{d:%B %Y}"


def when_words(at: datetime | None) -> str:
    return "never" if at is None else f"{at:%b} {at.day}, {at:%H:%M} UTC"


def age_words(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    s = max(0, int((now - at).total_seconds()))
    if s < 90:
        return f"{s} s ago"
    if s < 90 * 60:
        return f"{s // 60} min ago"
    if s < 48 * 3600:
        return f"{s // 3600} h {s % 3600 // 60} min ago"
    return f"{s // 86400} days ago"


def heard_words(within_min) -> str:
    """The public health says how recently a part was heard from only in whole 5-minute steps."""
    if within_min is None:
        return "never"
    m = int(within_min)
    if m <= 5:
        return "within the last 5 min"
    if m <= 90:
        return f"{m - 5}–{m} min ago"
    return f"over {(m - 5) // 60} h ago"


def temp(value) -> str:
    return "–" if value is None else f"{Decimal(str(value)).quantize(Decimal(1))} °F"


def pct(p) -> str:
    return "–" if p is None else f"{Decimal(str(p)) * 100:.0f} %"


def cents(price) -> str:
    return "–" if price is None else f"{Decimal(str(price)) * 100:.0f}¢"


def quote(bid, ask) -> str:
    if bid is None and ask is None:
        return "no quote"
    return f"{cents(bid)} bid / {cents(ask)} ask"


def money(value) -> str:
    if value is None:
        return "–"
    v = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def side_words(side: str) -> str:
    return {"buy_yes": "bought YES", "buy_no": "bought NO"}.get(side, side)
