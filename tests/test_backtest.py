"""`milkbot backtest`: the live SQL replayed day-ahead, with no look-ahead, and scored.

The no-look-ahead proof needs no shared data: it runs on a generated history (a few cities, errors with
a city bias), changes every truth after a date D, and compares the CSV rows up to D byte for byte."""
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
OFFSETS = {"NYC": -5, "DEN": -7, "LAX": -8}
BIAS = {"NYC": 1.0, "DEN": -2.0, "LAX": 3.0}


def write_history(folder: Path, days: int = 70, start: date = date(2025, 9, 1), shift_after: date | None = None) -> None:
    """Forecasts fetched twice a day for the next two days, and the settled highs (forecast + bias + noise)."""
    rng = random.Random(14)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "forecasts.csv").open("w", newline="") as ff, (folder / "truth.csv").open("w", newline="") as tf:
        fw, tw = csv.writer(ff, lineterminator="\n"), csv.writer(tf, lineterminator="\n")
        fw.writerow(["city", "station", "kind", "target_date", "issued_at", "value_f", "source"])
        tw.writerow(["city", "station", "kind", "date", "value_f", "source"])
        for i in range(days):
            day = start + timedelta(days=i)
            for city, off in OFFSETS.items():
                base = 60 + 10 * rng.random()
                for hours_before in (30, 17):   # fetched the day before: 30 h and 17 h before local midnight
                    at = datetime.combine(day, time(), timezone.utc) - timedelta(hours=off) - timedelta(hours=hours_before)
                    fw.writerow([city, "K" + city, "high", day.isoformat(), at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 round(base + rng.gauss(0, 0.7)), "nws_gridpoint_forecast"])
                truth = round(base + BIAS[city] + rng.gauss(0, 2.0))
                if shift_after and day > shift_after:
                    truth += 9    # a different future: nothing up to shift_after may move
                tw.writerow([city, "K" + city, "high", day.isoformat(), truth, "rcc_acis"])


def backtest(*args: str) -> subprocess.CompletedProcess:
    return backtests(args)[0]


def backtests(*argsets) -> list[subprocess.CompletedProcess]:
    """`milkbot backtest` runs side by side (each in its own scratch database, named by its process)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "milkbot.cli", "backtest", *args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in argsets]
    done = []
    for args, p in zip(argsets, procs):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_no_look_ahead_scores_up_to_d_do_not_move_when_later_truths_change(tmp_path):
    d = date(2025, 10, 20)
    write_history(tmp_path / "a")
    write_history(tmp_path / "b", shift_after=d)
    backtests(("--history", str(tmp_path / "a"), "--out", str(tmp_path / "a.csv")),
              ("--history", str(tmp_path / "b"), "--out", str(tmp_path / "b.csv")))
    a = (tmp_path / "a.csv").read_text().splitlines()
    b = (tmp_path / "b.csv").read_text().splitlines()
    assert a[0] == "city,kind,date,forecast_f,mu,sigma,truth_f,p_truth,crps,crps_baseline,brier_ladder,brier_ladder_baseline,decision"
    rows = lambda lines, lo, hi: [l for l in lines[1:] if lo <= date.fromisoformat(l.split(",")[2]) <= hi]  # noqa: E731
    up_to_d = (date.min, d)
    assert len(rows(a, *up_to_d)) > 100
    assert rows(a, *up_to_d) == rows(b, *up_to_d), "a score up to D moved although only truths after D changed"
    # The first changed truth (D+1) becomes known at 06:00 local on D+2, so the model of D+1 and D+2 (decided
    # at 00:00 local) cannot know it either: forecast, mu and sigma equal (their own scores differ, of course) ...
    model = lambda lines, lo, hi: [l.split(",")[:6] for l in rows(lines, lo, hi)]  # noqa: E731
    after = (d + timedelta(days=1), d + timedelta(days=2))
    assert model(a, *after) == model(b, *after) and model(a, *after)
    # ... and the model takes the new truths at its first chance, D+3 (so this test can fail both ways)
    late = (d + timedelta(days=3), date.max)
    moved = sorted(x[2] for x, y in zip(model(a, *late), model(b, *late)) if x != y)
    assert moved and moved[0] == (d + timedelta(days=3)).isoformat()
    assert (tmp_path / "a_reliability.png").stat().st_size > 5000
    assert (tmp_path / "a_crps_by_city.png").stat().st_size > 5000


def test_every_decision_time_knows_only_its_past(tmp_path):
    """The four decision times the cycle uses (issue 24 §3), each replayed with only what was known then:
    rows up to D never move when truths after D change; the first changed truth (D+1, known at 06:00 local
    on D+2) first moves the morning decision of D+2 (08:00), and the open (D-1 10:00), evening (D-1 18:00)
    and midnight decisions only from D+3."""
    d = date(2025, 10, 20)
    write_history(tmp_path / "a", days=45, start=date(2025, 9, 26))
    write_history(tmp_path / "b", days=45, start=date(2025, 9, 26), shift_after=d)
    decisions = "open,evening,midnight,morning"
    backtests(("--history", str(tmp_path / "a"), "--decisions", decisions, "--out", str(tmp_path / "a.csv")),
              ("--history", str(tmp_path / "b"), "--decisions", decisions, "--out", str(tmp_path / "b.csv")))
    read = lambda name: [r for r in csv.DictReader((tmp_path / name).open())]  # noqa: E731
    a, b = read("a.csv"), read("b.csv")
    assert {r["decision"] for r in a} == set(decisions.split(","))
    model = lambda r: (r["city"], r["date"], r["forecast_f"], r["mu"], r["sigma"])  # noqa: E731
    for decision in decisions.split(","):
        ra = [r for r in a if r["decision"] == decision]
        rb = [r for r in b if r["decision"] == decision]
        assert len(ra) == len(rb) and len([r for r in ra if r["date"] <= d.isoformat()]) > 60
        assert [r for r in ra if r["date"] <= d.isoformat()] == [r for r in rb if r["date"] <= d.isoformat()], decision
        moved = sorted(x["date"] for x, y in zip(ra, rb) if model(x) != model(y))
        first = d + timedelta(days=2 if decision == "morning" else 3)
        assert moved and moved[0] == first.isoformat(), (decision, moved[:3])
    assert {d: sum(r["decision"] == d for r in a) for d in decisions.split(",")} == dict.fromkeys(decisions.split(","), 3 * 45)


def test_rolling_calibration_learns_each_citys_bias_and_beats_the_baseline(tmp_path):
    write_history(tmp_path / "h")
    out = json.loads(backtest("--history", str(tmp_path / "h"), "--from", "2025-10-01", "--json").stdout)
    assert set(out["overall"]) == {"n", "crps", "crps_baseline", "brier_ladder", "brier_ladder_baseline", "log_loss",
                                   "log_loss_baseline", "crps_gain", "crps_gain_ci95", "coverage"}
    o = out["overall"]
    # errors are normal here (sd 2 °F around a steady bias): the learnt intervals hold the truth about as
    # often as they say (120 days: a binomial sd of 3-5 points)
    cov = o["coverage"]
    assert 0.38 <= cov["50"] <= 0.62 and 0.68 <= cov["80"] <= 0.92 and 0.80 <= cov["90"] <= 0.99, cov
    assert cov["50"] < cov["80"] < cov["90"], cov
    assert abs(o["crps_gain"] - (1 - o["crps"] / o["crps_baseline"])) < 1e-3
    assert o["crps_gain_ci95"][0] < o["crps_gain"] < o["crps_gain_ci95"][1]
    assert out["overall"]["n"] == 3 * 40          # Oct 1 - Nov 9, three cities
    assert list(out["decisions"]) == ["midnight"] and out["decisions"]["midnight"]["overall"] == out["overall"]
    for city in OFFSETS:
        c = out["cities"][city]
        assert c["crps"] < c["crps_baseline"], (city, c)    # a 1-3 °F bias is worth learning


def test_train_folder_warms_up_without_being_scored(tmp_path):
    write_history(tmp_path / "train", days=40, start=date(2025, 8, 1))
    write_history(tmp_path / "test", days=20, start=date(2025, 9, 10))
    warm, cold = backtests(("--history", str(tmp_path / "test"), "--train", str(tmp_path / "train"), "--json"),
                           ("--history", str(tmp_path / "test"), "--json"))
    out, cold = json.loads(warm.stdout), json.loads(cold.stdout)
    assert out["overall"]["n"] == 3 * 20
    assert out["overall"]["crps"] < cold["overall"]["crps"]


def test_bad_history_is_a_clear_error(tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "forecasts.csv").write_text("city,when\nNYC,now\n")
    (tmp_path / "h" / "truth.csv").write_text("city,station,kind,date,value_f,source\n")
    proc = subprocess.run([sys.executable, "-m", "milkbot.cli", "backtest", "--history", str(tmp_path / "h")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "forecasts.csv: columns" in proc.stderr and "Traceback" not in proc.stderr
    # a row the database refuses (500 °F breaks the forecasts table's range check): a clear error, no traceback
    write_history(tmp_path / "hot", days=3)
    text = (tmp_path / "hot" / "forecasts.csv").read_text().splitlines()
    first = text[1].split(",")
    first[5] = "500"
    (tmp_path / "hot" / "forecasts.csv").write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")
    proc = subprocess.run([sys.executable, "-m", "milkbot.cli", "backtest", "--history", str(tmp_path / "hot")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "database error" in proc.stderr and "forecast_f" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    # a forecast product the model does not know: named, never loaded as some other product
    write_history(tmp_path / "odd", days=3)
    text = (tmp_path / "odd" / "forecasts.csv").read_text().replace("nws_gridpoint_forecast", "ecmwf_ensemble", 1)
    (tmp_path / "odd" / "forecasts.csv").write_text(text)
    proc = subprocess.run([sys.executable, "-m", "milkbot.cli", "backtest", "--history", str(tmp_path / "odd")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'ecmwf_ensemble' is not a known forecast product" in proc.stderr, proc.stderr


def test_real_history_beats_the_naive_baseline(shared_data, tmp_path):
    """On the real NWS forecasts and settled maxima: rolling-origin CRPS below N(forecast, 3 °F) overall."""
    out = json.loads(backtest("--history", str(shared_data / "history"), "--json").stdout)
    o = out["overall"]
    assert o["n"] > 400
    assert o["crps"] < o["crps_baseline"] and o["brier_ladder"] < o["brier_ladder_baseline"], o
