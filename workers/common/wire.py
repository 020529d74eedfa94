"""Exact parsing of wire values. Money and counts are Decimal, never float; bad input raises PayloadError."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation


class PayloadError(ValueError):
    """A reply that failed validation: recorded in ops.ingest_errors and skipped, never half-written."""


_DEC = re.compile(r"^-?\d+(\.\d+)?$")


def dollars(value, field: str, *, allow_none: bool = False) -> Decimal | None:
    """A `*_dollars` string ("0.4200") as an exact price in [0, 1]."""
    if value is None or value == "":
        if allow_none:
            return None
        raise PayloadError(f"{field}: missing")
    if not isinstance(value, str) or not _DEC.match(value):
        raise PayloadError(f"{field}: not a dollar string: {value!r}")
    d = Decimal(value)
    if not Decimal(0) <= d <= Decimal(1):
        raise PayloadError(f"{field}: price {value} outside [0, 1]")
    return d


def fp_count(value, field: str, *, allow_none: bool = False) -> Decimal | None:
    """A `*_fp` string ("13.00") as an exact non-negative contract count."""
    if value is None or value == "":
        if allow_none:
            return None
        raise PayloadError(f"{field}: missing")
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DEC.match(value):
        raise PayloadError(f"{field}: not a fixed-point count: {value!r}")
    d = Decimal(value)
    if d < 0:
        raise PayloadError(f"{field}: negative count {value}")
    return d


def number(value, field: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PayloadError(f"{field}: not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(f"{field}: not a number: {value!r}") from None


def timestamp(value, field: str, *, allow_none: bool = False) -> datetime | None:
    if value in (None, ""):
        if allow_none:
            return None
        raise PayloadError(f"{field}: missing")
    if not isinstance(value, str):
        raise PayloadError(f"{field}: not a timestamp: {value!r}")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{field}: not an ISO-8601 timestamp: {value!r}") from None
    if dt.tzinfo is None:
        raise PayloadError(f"{field}: timestamp without offset: {value!r}")
    return dt.astimezone(timezone.utc)


def c_to_f(celsius: Decimal) -> Decimal:
    """Exact °C -> °F (NWS grids carry °C converted from whole °F, e.g. 9.444…), to 0.01 °F."""
    return (celsius * 9 / 5 + 32).quantize(Decimal("0.01"))


def excerpt(body: bytes | str | None, limit: int = 2000) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return body[:limit]
