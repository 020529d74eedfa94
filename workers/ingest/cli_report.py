"""NWS Daily Climate Report (CLI) bulletins -> observed max/min per station report.

Reads MAXIMUM/MINIMUM only inside the TEMPERATURE (F) section (the normals block further down repeats
the words), tells the final report (YESTERDAY) from the preliminary one (TODAY), and handles MM
(missing -> None), record markers (R, as a suffix or a separate token), estimated values (57(E) ->
estimated), negative values, both time styles (301 PM and 3:53 PM), several stations in one product, and
corrections. A bulletin with only one of MAXIMUM / MINIMUM reports that one and null for the other (a low
market still settles). Anything it cannot read -- no value at all, or a temperature section laid out in
a way it does not know (some Alaska offices write MAX/MIN or HIGH/LOW rows) -- raises CliParseError with
the reason: a settlement number is never guessed.

PRECIPITATION (IN) and SNOWFALL (IN) (issue 27 §2, the Monthly markets' truth): the day's amount
(YESTERDAY or TODAY, as the temperature says), MONTH TO DATE and its NORMAL (read by column, under the
header's NORMAL), as inches: T (trace) is 0 with `trace` set, MM is missing (None), (E) marks an estimate.
A row that cannot be read leaves that amount None and says why in `problems` -- the temperatures, which
settle the daily markets, are still reported. A section the bulletin lacks is simply not reported.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal

MONTHS = {m: i for i, m in enumerate(
    ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
     "NOVEMBER", "DECEMBER"], start=1)}
HEADLINE = re.compile(
    r"^\s*\.\.\.\s*THE\s+(?P<name>.+?)\s+CLIMATE\s+SUMMARY\s+(?:FOR|FROM)\s+(?P<month>[A-Z]{3,9})\.?\s+"
    r"(?P<day>\d{1,2}),?\s+(?P<year>\d{4})(?P<rest>.*)$", re.M)
SECTION = re.compile(r"^\s*TEMPERATURE\s*\(F\)", re.M)
NEXT_SECTION = re.compile(r"^\s*(?:[A-Z][A-Z ]+\([A-Z]+\)|\.{10,}|&&)\s*$")
VALUE = re.compile(r"^(-?\d{1,3})R?(\(E\))?R?$")
ESTIMATED = "(E)"
# Row labels some offices use instead of MAXIMUM / MINIMUM: seen, never read (their columns differ).
FOREIGN_LABELS = re.compile(r"^\s*(MAX|MIN|MAXIMUM TEMP|MINIMUM TEMP|HIGH|LOW|HI|LO)\b", re.I)
TIME = re.compile(r"^(\d{1,2}:?\d{2})$")


PRECIP_SECTION = re.compile(r"^\s*PRECIPITATION\s*\(IN\)", re.M)
SNOW_SECTION = re.compile(r"^\s*SNOWFALL\s*\(IN\)", re.M)
AMOUNT = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)R?(\(E\))?R?$")
HEADER = re.compile(r"^[ \t]*WEATHER ITEM\b.*\bNORMAL\b", re.M)      # (not \s: it would eat the newlines before)


class CliParseError(ValueError):
    pass


@dataclass(frozen=True)
class Amount:
    """An amount in inches as the bulletin gives it: None = missing (MM) or not reported."""
    inches: Decimal | None = None
    trace: bool = False
    estimated: bool = False


@dataclass(frozen=True)
class Amounts:
    day: Amount = field(default_factory=Amount)
    month_to_date: Amount = field(default_factory=Amount)
    month_to_date_normal: Amount = field(default_factory=Amount)


@dataclass(frozen=True)
class CliReport:
    station_name: str
    climate_date: str
    report: str            # final | preliminary
    max_f: int | None
    min_f: int | None
    is_correction: bool = False
    max_estimated: bool = False
    min_estimated: bool = False
    precipitation: Amounts = field(default_factory=Amounts)
    snowfall: Amounts = field(default_factory=Amounts)
    problems: tuple[str, ...] = ()

    @property
    def estimated(self) -> bool:
        """True when a value read was marked estimated (E) by the office."""
        return self.max_estimated or self.min_estimated

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("is_correction", "max_estimated", "min_estimated", "precipitation", "snowfall", "problems"):
            d.pop(k)
        d["estimated"] = self.estimated
        for name, a in (("precip", self.precipitation), ("snow", self.snowfall)):
            for part, v in (("day", a.day), ("month_to_date", a.month_to_date), ("month_to_date_normal", a.month_to_date_normal)):
                d[f"{name}_{part}_in"] = None if v.inches is None else float(v.inches)
                if v.trace:
                    d[f"{name}_{part}_trace"] = True
        if self.problems:
            d["problems"] = list(self.problems)
        return d


def _month(name: str) -> int:
    for full, n in MONTHS.items():
        if full.startswith(name.upper()) and len(name) >= 3:
            return n
    raise CliParseError(f"unknown month {name!r} in headline")


def _value(line: str | None, label: str) -> tuple[int | None, bool]:
    """(°F or None for MM / no such line, estimated?)"""
    if line is None:
        return None, False
    tokens = line.split()
    if not tokens or tokens[0] != label:
        raise CliParseError(f"expected a {label} line, got {line.strip()!r}")
    rest = [t for t in tokens[1:] if t != "R"]   # "R 100": record marker before the number
    if not rest:
        raise CliParseError(f"{label} line has no observed value: {line.strip()!r}")
    tok = rest[0]
    if tok == "MM":
        return None, False
    m = VALUE.match(tok)
    if not m:
        raise CliParseError(f"{label} observed value {tok!r} is not a temperature")
    v = int(m.group(1))
    if not -80 <= v <= 140:
        raise CliParseError(f"{label} {v} °F is not a plausible temperature")
    estimated = bool(m.group(2)) or (len(rest) > 1 and rest[1] == ESTIMATED)   # "57(E)" or "57 (E)"
    return v, estimated


def _amount(tok: str, what: str, limit: Decimal) -> Amount:
    if tok == "MM":
        return Amount()
    if tok == "T":
        return Amount(Decimal(0), trace=True)
    m = AMOUNT.match(tok)
    if not m:
        raise CliParseError(f"{what}: {tok!r} is not an amount in inches")
    v = Decimal(m.group(1))
    if v > limit:
        raise CliParseError(f"{what}: {v} in is not a plausible amount")
    return Amount(v, estimated=bool(m.group(2)))


def _amounts(block: str, section: re.Pattern, title: str, day_row: str, limit: Decimal,
             problems: list[str]) -> Amounts:
    """The day's row, MONTH TO DATE and its NORMAL from one section; what cannot be read is None and a
    problem. The NORMAL is the token that ends under the header's NORMAL (columns are fixed-width)."""
    sec = section.search(block)
    if not sec:
        return Amounts()
    header = HEADER.search(block)
    normal_end = header.group(0).rfind("NORMAL") + len("NORMAL") if header else None
    rows: dict[str, str] = {}
    for line in block[sec.end():].splitlines()[1:]:
        if not line.strip():
            break
        if NEXT_SECTION.match(line):
            break
        label = re.match(r"^\s*([A-Z][A-Z0-9 ]*?[A-Z0-9])(?=\s{2,}|\s+(?:MM|T|[\d.]+)(?:\s|\(|R|$))", line)
        if label:
            rows.setdefault(label.group(1), line)

    def observed(row: str | None, what: str) -> Amount:
        if row is None:
            return Amount()
        toks = row.split()
        rest = [t for t in toks[len(what.split()):] if t != "R"]
        if not rest:
            problems.append(f"{title} {what}: no observed value")
            return Amount()
        try:
            return _amount(rest[0], f"{title} {what}", limit)
        except CliParseError as exc:
            problems.append(str(exc))
            return Amount()

    def normal(row: str | None, what: str) -> Amount:
        if row is None or normal_end is None:
            return Amount()
        for m in re.finditer(r"\S+", row):
            if abs(m.end() - normal_end) <= 2 and m.start() > len(what) + 2:
                try:
                    return _amount(m.group(0), f"{title} {what} normal", limit)
                except CliParseError as exc:
                    problems.append(str(exc))
                    return Amount()
        return Amount()
    mtd = rows.get("MONTH TO DATE")
    return Amounts(observed(rows.get(day_row), day_row), observed(mtd, "MONTH TO DATE"), normal(mtd, "MONTH TO DATE"))


def _parse_one(block: str, headline: re.Match, product_correction: bool) -> CliReport:
    name = re.sub(r"\s+", " ", headline.group("name")).strip()
    try:
        day = date(int(headline.group("year")), _month(headline.group("month")), int(headline.group("day")))
    except ValueError as exc:
        raise CliParseError(f"{name}: bad date in headline: {exc}") from None
    correction = product_correction or "CORRECTION" in headline.group("rest").upper()
    sec = SECTION.search(block)
    if not sec:
        raise CliParseError(f"{name} {day}: no TEMPERATURE (F) section")
    lines = block[sec.end():].splitlines()[1:]
    report, max_line, min_line, foreign = None, None, None, None
    for line in lines:
        if not line.strip():
            if max_line and min_line:
                break
            continue
        if NEXT_SECTION.match(line):
            break
        word = line.split()[0]
        if word in ("YESTERDAY", "TODAY") and report is None:
            report = "final" if word == "YESTERDAY" else "preliminary"
        elif word == "MAXIMUM" and max_line is None:
            max_line = line
        elif word == "MINIMUM" and min_line is None:
            min_line = line
        elif foreign is None and word not in ("MAXIMUM", "MINIMUM") and FOREIGN_LABELS.match(line):
            foreign = line.strip()
    if foreign and (max_line is None or min_line is None):
        # a row we do not know stands where MAXIMUM or MINIMUM should: its columns may differ
        raise CliParseError(f"{name} {day}: TEMPERATURE section is laid out differently ({foreign!r}); "
                            "not read rather than guessed")
    if max_line is None and min_line is None:
        raise CliParseError(f"{name} {day}: TEMPERATURE section lacks both MAXIMUM and MINIMUM lines")
    if report is None:
        raise CliParseError(f"{name} {day}: TEMPERATURE section says neither YESTERDAY nor TODAY")
    (max_f, max_est), (min_f, min_est) = _value(max_line, "MAXIMUM"), _value(min_line, "MINIMUM")
    problems: list[str] = []
    day_row = "YESTERDAY" if report == "final" else "TODAY"
    precipitation = _amounts(block, PRECIP_SECTION, "PRECIPITATION", day_row, Decimal(60), problems)
    snowfall = _amounts(block, SNOW_SECTION, "SNOWFALL", day_row, Decimal(200), problems)
    return CliReport(name, day.isoformat(), report, max_f, min_f, correction, max_est, min_est,
                     precipitation, snowfall, tuple(problems))


def parse_cli_text(text: str) -> list[CliReport]:
    if not isinstance(text, str) or not text.strip():
        raise CliParseError("empty bulletin")
    text = text.replace("\r\n", "\n")
    heads = list(HEADLINE.finditer(text))
    if not heads:
        raise CliParseError("no '...THE <STATION> CLIMATE SUMMARY FOR <DATE>...' headline: not a CLI bulletin")
    # A corrected product says so in its WMO heading (CCA, CCB, …) or its header lines.
    header = text[:heads[0].start()]
    product_correction = bool(re.search(r"^\s*[A-Z]{4}\d{2} [A-Z]{4} \d{6} CC[A-Z]\b", header, re.M)
                              or re.search(r"\bCORRECT(ED|ION)\b", header))
    reports = []
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        reports.append(_parse_one(text[h.start():end], h, product_correction))
    return reports


def parse_cli_product(payload: dict) -> tuple[list[CliReport], str, datetime | None]:
    """A /products/{id} reply -> (reports, product id, issuance time)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("productText"), str):
        raise CliParseError("not a /products/{id} reply: no productText")
    if payload.get("productCode") not in (None, "CLI"):
        raise CliParseError(f"product is {payload.get('productCode')}, not CLI")
    issued = payload.get("issuanceTime")
    when = datetime.fromisoformat(issued.replace("Z", "+00:00")) if isinstance(issued, str) else None
    return parse_cli_text(payload["productText"]), str(payload.get("id") or ""), when
