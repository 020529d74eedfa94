"""NWS (api.weather.gov) payloads -> plain rows. Pure functions: no HTTP, no database.

Every value is assigned to the city's climate day in LOCAL STANDARD TIME (the fixed offset, never DST).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from workers.common.wire import PayloadError, c_to_f, number, timestamp

# MADIS quality-control codes we reject: X failed, Q questioned, B subjectively bad.
REJECTED_QC = {"X", "Q", "B"}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def climate_date(at: datetime, std_offset: timedelta) -> date:
    return (at.astimezone(timezone.utc) + std_offset).date()


def climate_day_start(day: date, std_offset: timedelta) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) - std_offset


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        raise PayloadError(f"not an ISO-8601 duration: {text!r}")
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def parse_interval(valid_time: str) -> tuple[datetime, datetime]:
    """`start/duration` (what NWS sends), `start/end` or `duration/end`."""
    if not isinstance(valid_time, str) or "/" not in valid_time:
        raise PayloadError(f"validTime is not an interval: {valid_time!r}")
    a, b = valid_time.split("/", 1)
    if a.startswith("P"):
        end = timestamp(b, "validTime")
        return end - parse_duration(a), end
    start = timestamp(a, "validTime")
    return (start, start + parse_duration(b)) if b.startswith("P") else (start, timestamp(b, "validTime"))


def props_of(payload) -> dict | None:
    """GeoJSON keeps fields under `properties`; JSON-LD (application/ld+json) puts them at the top."""
    if not isinstance(payload, dict):
        return None
    inner = payload.get("properties")
    return inner if isinstance(inner, dict) else payload


def unit(code: str | None) -> str:
    """'wmoUnit:degC' / 'unit:degC' / 'degC' -> 'degC' (namespaced units are deprecated)."""
    return (code or "").rsplit(":", 1)[-1]


def to_f(value: Decimal, unit_code: str | None, field: str) -> Decimal:
    u = unit(unit_code)
    if u in ("degC", "Cel"):
        return c_to_f(value)
    if u in ("degF", "[degF]"):
        return value.quantize(Decimal("0.01"))
    raise PayloadError(f"{field}: unexpected temperature unit {unit_code!r}")


@dataclass(frozen=True)
class Grid:
    grid_id: str
    grid_x: int
    grid_y: int
    forecast_url: str
    hourly_url: str
    grid_url: str
    time_zone: str | None


def parse_points(payload: dict) -> Grid:
    props = props_of(payload)
    if props is None:
        raise PayloadError("points: not a JSON object")
    try:
        grid = Grid(str(props["gridId"]), int(props["gridX"]), int(props["gridY"]),
                    str(props["forecast"]), str(props["forecastHourly"]), str(props["forecastGridData"]),
                    props.get("timeZone"))
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"points: missing or bad field {exc}") from None
    if not re.match(r"^[A-Z]{3}$", grid.grid_id) or grid.grid_x < 0 or grid.grid_y < 0:
        raise PayloadError(f"points: bad grid {grid.grid_id}/{grid.grid_x},{grid.grid_y}")
    return grid


@dataclass(frozen=True)
class ForecastValue:
    climate_date: date
    kind: str          # high | low
    forecast_f: Decimal


def _issued(props: dict, what: str) -> tuple[datetime, datetime | None]:
    issued = timestamp(props.get("updateTime") or props.get("updated"), f"{what}.updateTime")
    generated = timestamp(props.get("generatedAt"), f"{what}.generatedAt", allow_none=True)
    return issued, generated


def parse_gridpoint(payload: dict, std_offset: timedelta) -> tuple[datetime, list[ForecastValue]]:
    """Raw grid maxTemperature/minTemperature (°C, intervals) -> high/low per climate day.

    Each interval goes to the climate day of its midpoint: the daytime max (≈7am-8pm) and the overnight
    min (≈7pm-9am, i.e. the morning of the next day) both land on the day they describe."""
    props = props_of(payload)
    if props is None:
        raise PayloadError("gridpoint: not a JSON object")
    issued, _ = _issued(props, "gridpoint")
    out: dict[tuple[date, str], Decimal] = {}
    for layer, kind in (("maxTemperature", "high"), ("minTemperature", "low")):
        data = props.get(layer)
        if not isinstance(data, dict) or not isinstance(data.get("values"), list):
            raise PayloadError(f"gridpoint: {layer} layer missing")
        for i, v in enumerate(data["values"]):
            if not isinstance(v, dict):
                raise PayloadError(f"gridpoint: {layer}[{i}] is not an object")
            raw = number(v.get("value"), f"{layer}[{i}].value")
            if raw is None:
                continue  # no data for that interval
            start, end = parse_interval(v.get("validTime"))
            f = to_f(raw, data.get("uom"), layer)
            if not Decimal(-80) <= f <= Decimal(140):
                raise PayloadError(f"gridpoint: {layer}[{i}] = {f} °F is not a plausible temperature")
            day = climate_date(start + (end - start) / 2, std_offset)
            key = (day, kind)
            # two intervals on one day: keep the extreme the day would settle on
            out[key] = f if key not in out else (max(out[key], f) if kind == "high" else min(out[key], f))
    return issued, [ForecastValue(d, k, f) for (d, k), f in sorted(out.items())]


@dataclass(frozen=True)
class PrecipValue:
    climate_date: date
    pop: Decimal | None        # 0..1: the highest probabilityOfPrecipitation overlapping the day
    qpf_in: Decimal | None     # liquid amount over the hours covered, inches
    snow_in: Decimal | None    # snowfall over the hours covered, inches
    hours: Decimal             # hours of the climate day the QPF intervals cover


MM_PER_IN = Decimal("25.4")


def _to_inches(value: Decimal, unit_code: str | None, field: str) -> Decimal:
    u = unit(unit_code)
    if u == "mm":
        return value / MM_PER_IN
    if u == "m":
        return value * 1000 / MM_PER_IN
    if u in ("in", "[in_i]"):
        return value
    raise PayloadError(f"{field}: unexpected length unit {unit_code!r}")


def _day_pieces(start: datetime, end: datetime, std_offset: timedelta):
    """An interval split at the city's LST midnights: (climate day, hours of the interval on it)."""
    at = start
    while at < end:
        day = climate_date(at, std_offset)
        cut = min(end, climate_day_start(day + timedelta(days=1), std_offset))
        yield day, cut - at
        at = cut


def parse_gridpoint_precip(payload: dict, std_offset: timedelta) -> list[PrecipValue]:
    """Raw grid probabilityOfPrecipitation (%), quantitativePrecipitation and snowfallAmount (lengths,
    intervals) -> one row per climate day (LST) the QPF covers, for the Monthly model.

    An amount interval spanning midnight is split by its hours on each side (the grid gives no finer
    timing); the day's PoP is the highest of the intervals overlapping it (a lower bound on the day's
    chance, which the model takes as the chance of a wet day). A grid without these layers has no
    precipitation forecast (no rows); a layer that is there but unreadable is an error."""
    props = props_of(payload)
    if props is None:
        raise PayloadError("gridpoint: not a JSON object")
    amounts: dict[str, dict[date, Decimal]] = {}
    covered: dict[date, timedelta] = {}
    pops: dict[date, Decimal] = {}
    for layer in ("quantitativePrecipitation", "snowfallAmount", "probabilityOfPrecipitation"):
        data = props.get(layer)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("values"), list):
            raise PayloadError(f"gridpoint: {layer} layer is not a layer")
        per_day = amounts.setdefault(layer, {})
        for i, v in enumerate(data["values"]):
            if not isinstance(v, dict):
                raise PayloadError(f"gridpoint: {layer}[{i}] is not an object")
            raw = number(v.get("value"), f"{layer}[{i}].value")
            if raw is None:
                continue
            start, end = parse_interval(v.get("validTime"))
            if end <= start:
                raise PayloadError(f"gridpoint: {layer}[{i}] has an empty interval")
            if layer == "probabilityOfPrecipitation":
                if unit(data.get("uom")) not in ("percent", "%") or not 0 <= raw <= 100:
                    raise PayloadError(f"gridpoint: {layer}[{i}] = {raw} {data.get('uom')} is not a probability")
                for day, _ in _day_pieces(start, end, std_offset):
                    pops[day] = max(pops.get(day, Decimal(0)), raw / 100)
                continue
            inches = _to_inches(raw, data.get("uom"), f"{layer}[{i}]")
            if not Decimal(0) <= inches <= Decimal(60):
                raise PayloadError(f"gridpoint: {layer}[{i}] = {inches:.2f} in is not a plausible amount")
            for day, part in _day_pieces(start, end, std_offset):
                per_day[day] = per_day.get(day, Decimal(0)) + inches * Decimal(part / (end - start))
                if layer == "quantitativePrecipitation":
                    covered[day] = covered.get(day, timedelta(0)) + part
    qpf, snow = amounts.get("quantitativePrecipitation", {}), amounts.get("snowfallAmount", {})
    cent = Decimal("0.01")
    return [PrecipValue(d, pops.get(d), qpf[d].quantize(cent), snow[d].quantize(cent) if d in snow else None,
                        min(Decimal(covered[d].total_seconds()) / 3600, Decimal(24)).quantize(Decimal("0.1")))
            for d in sorted(qpf) if covered[d] > timedelta(0)]


def _period_temp_f(p: dict, i: int) -> Decimal | None:
    t = p.get("temperature")
    if isinstance(t, dict):  # Feature-Flags: forecast_temperature_qv
        v = number(t.get("value"), f"periods[{i}].temperature.value")
        return None if v is None else to_f(v, t.get("unitCode"), f"periods[{i}].temperature")
    v = number(t, f"periods[{i}].temperature")
    if v is None:
        return None
    return to_f(v, "degC" if p.get("temperatureUnit") == "C" else "degF", f"periods[{i}].temperature")


def parse_forecast_12h(payload: dict, std_offset: timedelta) -> tuple[datetime, datetime | None, list[ForecastValue]]:
    """12-hour periods: a daytime period's temperature is that day's high; a night period's is the low
    of the morning it ends in."""
    props = props_of(payload)
    if props is None or not isinstance(props.get("periods"), list):
        raise PayloadError("forecast: no periods")
    issued, generated = _issued(props, "forecast")
    out = []
    for i, p in enumerate(props["periods"]):
        f = _period_temp_f(p, i)
        if f is None:
            continue
        start = timestamp(p.get("startTime"), f"periods[{i}].startTime")
        end = timestamp(p.get("endTime"), f"periods[{i}].endTime")
        if p.get("isDaytime") is True:
            out.append(ForecastValue(climate_date(start, std_offset), "high", f))
        elif p.get("isDaytime") is False:
            out.append(ForecastValue(climate_date(end, std_offset), "low", f))
        else:
            raise PayloadError(f"forecast: periods[{i}].isDaytime missing")
    return issued, generated, out


def parse_hourly_temps(payload: dict) -> list[tuple[datetime, Decimal]]:
    """Hourly periods -> (start of the hour, °F), for the same-day model's "rest of the day"."""
    props = props_of(payload)
    if props is None or not isinstance(props.get("periods"), list):
        raise PayloadError("hourly: no periods")
    out = []
    for i, p in enumerate(props["periods"]):
        f = _period_temp_f(p, i)
        if f is None:
            continue
        if not Decimal(-80) <= f <= Decimal(140):
            raise PayloadError(f"hourly: periods[{i}] = {f} °F is not a plausible temperature")
        out.append((timestamp(p.get("startTime"), f"periods[{i}].startTime"), f))
    return out


def parse_hourly(payload: dict, std_offset: timedelta) -> tuple[datetime, datetime | None, list[ForecastValue]]:
    """Hourly periods -> max/min over each climate day they cover completely (selected by instant
    against the local-standard-time window, not by the civil date in startTime)."""
    props = props_of(payload)
    if props is None or not isinstance(props.get("periods"), list):
        raise PayloadError("hourly: no periods")
    issued, generated = _issued(props, "hourly")
    by_day: dict[date, list[Decimal]] = {}
    for i, p in enumerate(props["periods"]):
        f = _period_temp_f(p, i)
        if f is None:
            continue
        start = timestamp(p.get("startTime"), f"periods[{i}].startTime")
        by_day.setdefault(climate_date(start, std_offset), []).append(f)
    out = []
    for day, temps in sorted(by_day.items()):
        if len(temps) >= 24:  # a partial day's max is not the day's max
            out += [ForecastValue(day, "high", max(temps)), ForecastValue(day, "low", min(temps))]
    return issued, generated, out


@dataclass(frozen=True)
class Observation:
    observed_at: datetime
    temp_c: Decimal
    temp_f: Decimal
    qc: str | None
    precision: str = "whole"            # "tenths" when temp_c came from the METAR T-group
    max6h_f: Decimal | None = None      # METAR 1snTTT: max of the 6 hours ending at observed_at
    min6h_f: Decimal | None = None      # METAR 2snTTT: min of those 6 hours


METAR_T_GROUP = re.compile(r"\bT([01])(\d{3})([01])(\d{3})\b")
METAR_6H = re.compile(r"^([12])([01])(\d{3})$")


def _tenths_c(sign: str, digits: str) -> Decimal:
    value = Decimal(digits) / 10
    return -value if sign == "1" else value


def parse_metar_groups(raw: str | None) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(temperature °C to 0.1 from the T-group, 6-hour max °C, 6-hour min °C) from a METAR's remarks.

    The JSON temperature is often a whole °C (or derived from one): 21 °C is 69.8 °F, 21.4 °C is 70.5 °F,
    so the whole-degree value can put the day's max in the wrong bracket. The remarks carry the tenths."""
    if not raw or "RMK" not in raw:
        return None, None, None
    remarks = raw.split("RMK", 1)[1]
    t = METAR_T_GROUP.search(remarks)
    temp = _tenths_c(t.group(1), t.group(2)) if t else None
    mx = mn = None
    for token in remarks.split():
        m = METAR_6H.match(token)
        if m:
            value = _tenths_c(m.group(2), m.group(3))
            if m.group(1) == "1" and mx is None:
                mx = value
            elif m.group(1) == "2" and mn is None:
                mn = value
    return temp, mx, mn


def parse_observations(payload: dict) -> tuple[list[Observation], int]:
    """Station observations -> usable temperatures; returns (rows, skipped nulls/failed QC)."""
    feats = (payload.get("features") if "features" in payload else payload.get("@graph")) if isinstance(payload, dict) else None
    if not isinstance(feats, list):
        raise PayloadError("observations: no features list")
    out, skipped = [], 0
    for i, feat in enumerate(feats):
        props = props_of(feat)
        if props is None:
            raise PayloadError(f"observations: features[{i}] has no properties")
        t = props.get("temperature") or {}
        value = number(t.get("value"), f"features[{i}].temperature.value")
        qc = (t.get("qualityControl") or "").rsplit(":", 1)[-1] or None
        if value is None or qc in REJECTED_QC:
            skipped += 1
            continue
        if unit(t.get("unitCode")) not in ("degC", "Cel"):
            raise PayloadError(f"observations: features[{i}] temperature unit {t.get('unitCode')!r}")
        raw = props.get("rawMessage")
        tenths, mx, mn = parse_metar_groups(raw if isinstance(raw, str) else None)
        precision = "whole"
        if tenths is not None and abs(tenths - value) <= Decimal("1.0"):   # the same reading, more precisely
            value, precision = tenths, "tenths"
        for what, v in (("temperature", value), ("6-hour max", mx), ("6-hour min", mn)):
            if v is not None and not Decimal(-70) <= v <= Decimal(60):
                raise PayloadError(f"observations: features[{i}] {what} {v} °C is not plausible")
        out.append(Observation(timestamp(props.get("timestamp"), f"features[{i}].timestamp"),
                               value.quantize(Decimal("0.01")), c_to_f(value), qc, precision,
                               None if mx is None else c_to_f(mx), None if mn is None else c_to_f(mn)))
    return out, skipped


def parse_cli_list(payload: dict) -> list[tuple[str, datetime]]:
    """/products/types/CLI/locations/{code} -> [(product id, issuance time)], newest first."""
    graph = payload.get("@graph") if isinstance(payload, dict) else None
    if not isinstance(graph, list):
        raise PayloadError("CLI list: no @graph")
    items = []
    for i, g in enumerate(graph):
        if not isinstance(g, dict) or not g.get("id"):
            raise PayloadError(f"CLI list: @graph[{i}] has no id")
        items.append((str(g["id"]), timestamp(g.get("issuanceTime"), f"@graph[{i}].issuanceTime")))
    return sorted(items, key=lambda x: x[1], reverse=True)
