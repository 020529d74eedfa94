"""The CLI bulletin parser: real bulletins (../shared) and our own edge-case fixtures."""
from __future__ import annotations

import json
import subprocess
from decimal import Decimal
import sys
from pathlib import Path

import pytest

from workers.ingest.cli_report import CliParseError, parse_cli_product, parse_cli_text

MILKBOT = str(Path(sys.executable).parent / "milkbot")


def bulletin(temp_block: str, headline: str = "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR NOVEMBER 24 2026...",
             wmo: str = "CDUS41 KOKX 250616") -> str:
    return f"""
000
{wmo}
CLINYC

CLIMATE REPORT
NATIONAL WEATHER SERVICE NEW YORK NY
116 AM EST WED NOV 25 2026

{headline}

WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST
                VALUE   (LST)  VALUE       VALUE  FROM      YEAR
..................................................................
TEMPERATURE (F)
{temp_block}

PRECIPITATION (IN)
  YESTERDAY        0.00          1.92 1925   0.12  -0.12     0.00
..................................................................

... CLIMATE NORMALS FOR TODAY
                         NORMAL    RECORD    YEAR
 MAXIMUM TEMPERATURE (F)   75        94      2019
 MINIMUM TEMPERATURE (F)   58        40      1950
"""


def test_real_central_park_bulletin(shared_data):
    [r] = parse_cli_text((shared_data / "recordings/cli/CLINYC_2013-01-02.txt").read_text())
    assert r.as_dict() == {"station_name": "CENTRAL PARK NY", "climate_date": "2013-01-02", "report": "final",
                           "max_f": 33, "min_f": 22, "estimated": False,
                           # PRECIPITATION / SNOWFALL: the day, month to date, and its NORMAL column
                           "precip_day_in": 0.0, "precip_month_to_date_in": 0.0, "precip_month_to_date_normal_in": 0.24,
                           "snow_day_in": 0.0, "snow_month_to_date_in": 0.0, "snow_month_to_date_normal_in": 0.4}


def test_real_sfo_product_json_with_colon_times(shared_data):
    payload = json.loads((shared_data / "recordings/cli/cli_product_CLISFO_8c7457d2_20260924T224339Z.json").read_text())
    reports, pid, issued = parse_cli_product(payload)
    assert [r.as_dict() for r in reports] == [{"station_name": "SAN FRANCISCO AIRPORT", "climate_date": "2026-09-23",
                                              "report": "final", "max_f": 78, "min_f": 55, "estimated": False,
                                              "precip_day_in": 0.0, "precip_month_to_date_in": 0.01,
                                              "precip_month_to_date_normal_in": 0.04,
                                              # snowfall YESTERDAY "MM" (missing: null, not the record 0.0 beside
                                              # it), MONTH TO DATE "T" (a trace: 0, flagged), no normal given
                                              "snow_day_in": None, "snow_month_to_date_in": 0.0,
                                              "snow_month_to_date_trace": True, "snow_month_to_date_normal_in": None}]
    assert pid == "8c7457d2-7454-4817-b173-cb5cc80329bf" and issued.isoformat() == "2026-09-24T08:40:00+00:00"


def test_preliminary_today_report():
    [r] = parse_cli_text(bulletin(" TODAY\n  MAXIMUM         51    1:12 PM  68    1876  49      2       50\n"
                                  "  MINIMUM         40    6:43 AM   2    1918  38      2       33\n"))
    assert (r.report, r.max_f, r.min_f) == ("preliminary", 51, 40)


def test_missing_values_are_null_not_the_normals_below():
    [r] = parse_cli_text(bulletin(" YESTERDAY\n  MAXIMUM         MM                 68    1876  49\n"
                                  "  MINIMUM         40    743 AM   2    1918  38      2       33\n"))
    assert r.max_f is None and r.min_f == 40       # not 75 from "MAXIMUM TEMPERATURE (F)   75" below


@pytest.mark.parametrize("block, expected", [
    # the MAXIMUM line is missing altogether: the minimum still settles a low market
    (" YESTERDAY\n  MINIMUM         40    743 AM   2    1918  38      2       33\n  AVERAGE         46\n", (None, 40)),
    # and the reverse
    (" YESTERDAY\n  MAXIMUM         51    1:12 PM  68    1876  49      2       50\n  AVERAGE         46\n", (51, None)),
])
def test_one_missing_line_reports_the_other(block, expected):
    [r] = parse_cli_text(bulletin(block))
    assert (r.max_f, r.min_f) == expected and r.report == "final" and not r.estimated


@pytest.mark.parametrize("max_tok, min_tok, flags", [
    ("57(E)", "41", (True, False)),          # estimated, attached
    ("57", "41 (E)", (False, True)),         # estimated, its own token
    ("57R(E)", "41(E)", (True, True)),       # record and estimated
])
def test_estimated_values_are_read_and_flagged(max_tok, min_tok, flags):
    [r] = parse_cli_text(bulletin(f" YESTERDAY\n  MAXIMUM         {max_tok}   2:01 PM  68    1876  49\n"
                                  f"  MINIMUM         {min_tok}   6:43 AM   2    1918  38\n"))
    assert (r.max_f, r.min_f) == (57, 41) and (r.max_estimated, r.min_estimated) == flags
    assert r.as_dict()["estimated"] is True


def test_estimated_value_reaches_the_operator_view(db):
    from workers.ingest.store import insert_climate_report
    [r] = parse_cli_text(bulletin(" YESTERDAY\n  MAXIMUM         57(E)   2:01 PM\n"))
    conn = db.connect("milkbot_ingest")
    insert_climate_report(conn, "NYC", r, "p-1", "2026-11-25T06:16:00Z", "text", "2026-11-25T06:20:00Z")
    rows = db.admin.execute("select kind, value_f, is_estimated from ops.v_climate_reports order by kind").fetchall()
    assert rows == [("high", 57, True), ("low", None, False)]


def test_record_markers_and_negative_values():
    [r] = parse_cli_text(bulletin(" YESTERDAY\n  MAXIMUM         R 100   301 PM  99    1876  49     51       50\n"
                                  "  MINIMUM         -12R   743 AM  -10   1918  28    -40       33\n"))
    assert (r.max_f, r.min_f) == (100, -12)


def test_both_time_formats():
    old = parse_cli_text(bulletin(" YESTERDAY\n  MAXIMUM         33    301 PM  68    1876  39     -6       50\n"
                                  "  MINIMUM         22    743 AM   2    1918  28     -6       33\n"))[0]
    new = parse_cli_text(bulletin(" YESTERDAY\n  MAXIMUM         33   3:01 PM  68    1876  39     -6       50\n"
                                  "  MINIMUM         22   7:43 AM   2    1918  28     -6       33\n"))[0]
    assert (old.max_f, old.min_f) == (new.max_f, new.min_f) == (33, 22)


def test_corrections_are_flagged():
    block = " YESTERDAY\n  MAXIMUM         33    301 PM\n  MINIMUM         22    743 AM\n"
    assert parse_cli_text(bulletin(block, wmo="CDUS41 KOKX 250616 CCA"))[0].is_correction
    assert parse_cli_text(bulletin(block, headline="...THE CENTRAL PARK NY CLIMATE SUMMARY FOR NOVEMBER 24 2026... CORRECTION"))[0].is_correction
    assert not parse_cli_text(bulletin(block))[0].is_correction


def test_several_stations_in_one_product():
    one = bulletin(" YESTERDAY\n  MAXIMUM         33    301 PM\n  MINIMUM         22    743 AM\n")
    two = one.replace("CENTRAL PARK NY", "LAGUARDIA").replace("33 ", "35 ")
    reports = parse_cli_text(one + "\n&&\n" + two[two.index("...THE"):])
    assert [(r.station_name, r.max_f) for r in reports] == [("CENTRAL PARK NY", 33), ("LAGUARDIA", 35)]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("HELLO WORLD", "not a CLI bulletin"),
    (bulletin("").replace("TEMPERATURE (F)", "TEMPS"), "no TEMPERATURE"),
    (bulletin(" YESTERDAY\n  AVERAGE         28\n"), "lacks both MAXIMUM and MINIMUM"),
    (bulletin(" YESTERDAY\n  MAXIMUM         MM\n  MINIMUM         5X\n"), "not a temperature"),
    (bulletin(" YESTERDAY\n  MAXIMUM         57(E  301 PM\n  MINIMUM   22\n"), "not a temperature"),
    # Alaska-style rows (label, then columns in another order): refused with the reason, never guessed
    (bulletin("                   YESTERDAY   NORMAL   RECORD\n  MAX TEMP           38          30       48\n"
              "  MIN TEMP           25          17       -9\n"), "laid out differently .'MAX TEMP"),
    (bulletin(" YESTERDAY\n  MAXIMUM         38    243 PM\n  LOW             25\n"), "laid out differently .'LOW"),
    (bulletin(" YESTERDAY\n  MAXIMUM         3X3   301 PM\n  MINIMUM   22\n"), "not a temperature"),
    (bulletin("  MAXIMUM         33    301 PM\n  MINIMUM   22\n"), "neither YESTERDAY nor TODAY"),
])
def test_unreadable_bulletins_raise_never_guess(text, message):
    with pytest.raises(CliParseError, match=message):
        parse_cli_text(text)


def test_cli_report_command(tmp_path, shared_data):
    good = tmp_path / "good.txt"
    good.write_text(bulletin(" YESTERDAY\n  MAXIMUM         MM\n  MINIMUM         22    743 AM\n"))
    out = subprocess.run([MILKBOT, "cli-report", str(good), str(shared_data / "recordings/cli/CLINYC_2013-01-02.txt")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert lines[0] == {"station_name": "CENTRAL PARK NY", "climate_date": "2026-11-24", "report": "final",
                        "max_f": None, "min_f": 22, "estimated": False,
                        "precip_day_in": 0.0, "precip_month_to_date_in": None, "precip_month_to_date_normal_in": None,
                        "snow_day_in": None, "snow_month_to_date_in": None, "snow_month_to_date_normal_in": None}
    assert lines[1]["max_f"] == 33
    bad = tmp_path / "bad.json"
    bad.write_text('{"productText": 5}')
    out = subprocess.run([MILKBOT, "cli-report", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and "no productText" in out.stderr and out.stdout == ""


PRECIP_BLOCK = """PRECIPITATION (IN)
  {row}{day}          1.92 1925   0.12  -0.12     0.00
  MONTH TO DATE    {mtd}                      2.61   {dep}     3.05
  SINCE SEP 1      9.80                      8.24   1.56     7.05

SNOWFALL (IN)
  {row}{snow}          11.5  1925   0.2   -0.2      0.0
  MONTH TO DATE    {snow_mtd}                       0.4   -0.4      0.0
  SNOW DEPTH       0
"""


def with_amounts(report="YESTERDAY", day="   0.52", mtd="3.10", snow="    T", snow_mtd="0.0", dep="0.49") -> str:
    temp = f" {report}\n  MAXIMUM         51    1:12 PM  68    1876  49      2       50\n  MINIMUM         40    6:43 AM\n"
    text = bulletin(temp)
    start = text.index("PRECIPITATION (IN)")
    end = text.index("..................................................................", start)
    return text[:start] + PRECIP_BLOCK.format(row=f"{report:<15}", day=day, mtd=mtd, snow=snow, snow_mtd=snow_mtd, dep=dep) + text[end:]


def test_precipitation_and_snowfall_trace_missing_estimated():
    [r] = parse_cli_text(with_amounts())
    assert (r.precipitation.day.inches, r.precipitation.month_to_date.inches, r.precipitation.month_to_date_normal.inches) \
        == (Decimal("0.52"), Decimal("3.10"), Decimal("2.61"))
    assert r.snowfall.day.inches == 0 and r.snowfall.day.trace                       # T: a trace, 0
    assert r.snowfall.month_to_date_normal.inches == Decimal("0.4") and not r.problems
    [r] = parse_cli_text(with_amounts(day="0.52(E)", snow="   MM"))
    assert r.precipitation.day.estimated and r.precipitation.day.inches == Decimal("0.52")
    assert r.snowfall.day.inches is None and not r.snowfall.day.trace                # MM: missing, not the record 11.5
    [r] = parse_cli_text(with_amounts(report="TODAY", day="   0.03"))                # a preliminary: TODAY so far
    assert r.report == "preliminary" and r.precipitation.day.inches == Decimal("0.03")


def test_an_unreadable_amount_is_null_with_its_reason_and_the_temperatures_still_settle():
    [r] = parse_cli_text(with_amounts(mtd="3,10", dep="0.49"))
    assert (r.max_f, r.min_f) == (51, 40)                                            # the daily markets still settle
    assert r.precipitation.month_to_date.inches is None and r.precipitation.day.inches == Decimal("0.52")
    assert r.problems == ("PRECIPITATION MONTH TO DATE: '3,10' is not an amount in inches",)
    [r] = parse_cli_text(with_amounts(day="  999.00"))
    assert r.precipitation.day.inches is None and "not a plausible amount" in r.problems[0]


def test_final_amounts_feed_the_monthly_truth(db):
    """A final report's day amounts land in ops.monthly_observed (trace = 0, missing = no row, named by
    ops.monthly_days_missing); a later final of the same day (a correction) replaces them; a preliminary
    writes nothing there."""
    from workers.ingest.store import insert_climate_report
    conn = db.connect("milkbot_ingest")
    for day, text, issued in (("NOVEMBER 1", with_amounts(day="   0.52", snow="    T"), "2026-11-02T06:00:00Z"),
                              ("NOVEMBER 2", with_amounts(day="     MM", snow="  1.5"), "2026-11-03T06:00:00Z"),
                              ("NOVEMBER 4", with_amounts(report="TODAY", day="   0.20"), "2026-11-04T22:00:00Z")):
        [r] = parse_cli_text(text.replace("NOVEMBER 24", day))
        insert_climate_report(conn, "NYC", r, f"p-{day}", issued, "text", issued)
    rows = db.admin.execute("""select kind::text, climate_date::text, amount_in from ops.monthly_observed
                                where city_code = 'NYC' order by 1, 2""").fetchall()
    assert rows == [("monthly_rain", "2026-11-01", Decimal("0.52")),
                    ("monthly_snow", "2026-11-01", Decimal("0.00")), ("monthly_snow", "2026-11-02", Decimal("1.50"))]
    missing = [d.isoformat() for (d,) in db.admin.execute(
        "select ops.monthly_days_missing('NYC', 'monthly_rain', '2026-11-01', '2026-11-04')")]
    assert missing == ["2026-11-02", "2026-11-03", "2026-11-04"]
    [r] = parse_cli_text(with_amounts(day="   0.61").replace("NOVEMBER 24", "NOVEMBER 1"))   # corrected later
    insert_climate_report(conn, "NYC", r, "p-correction", "2026-11-02T18:00:00Z", "text", "2026-11-02T18:00:00Z")
    assert db.admin.execute("""select amount_in from ops.monthly_observed where city_code = 'NYC'
                                and kind = 'monthly_rain' and climate_date = '2026-11-01'""").fetchone()[0] == Decimal("0.61")
    stored = db.admin.execute("""select precip_in, precip_mtd_in, precip_mtd_normal_in, snow_in, snow_trace
                                   from ops.climate_reports where product_id = 'p-NOVEMBER 1'""").fetchone()
    assert stored == (Decimal("0.52"), Decimal("3.10"), Decimal("2.61"), Decimal("0.00"), True)
