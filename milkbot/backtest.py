"""`milkbot backtest`: the live model's SQL replayed over real history, in a scratch database.

    history CSVs -> scratch database (migrated like production) -> ops.replay_day_ahead (refit as of
    each decision, then ops.model_inputs, scored in SQL) -> CSV / JSON / charts

Python here only moves files in and results out: every number comes from the SQL the cycle runs.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql

from .db import Database
from .migrate import migrate

FORECAST_COLUMNS = ["city", "station", "kind", "target_date", "issued_at", "value_f", "source"]
TRUTH_COLUMNS = ["city", "station", "kind", "date", "value_f", "source"]
OUT_COLUMNS = ["city", "kind", "date", "forecast_f", "mu", "sigma", "truth_f", "p_truth", "crps", "crps_baseline",
               "brier_ladder", "brier_ladder_baseline", "decision"]
# The decision times the cycle really uses, as offsets from the start of the climate day (00:00 local
# standard time): the market's open (D-1 10:00), D-1 evening, D midnight, D morning (the history has no
# observations, so the morning decides on the forecast alone)
DECISIONS = {"open": timedelta(hours=-14), "evening": timedelta(hours=-6), "midnight": timedelta(0),
             "morning": timedelta(hours=8)}
DECISION_NAMES = {v: k for k, v in DECISIONS.items()}
# history kinds -> the model's kinds: the 12-hour product's night period is the overnight low, which is
# exactly what the live 'low' forecast from forecast_12h is
KINDS = {"high": "high", "low_overnight": "low", "low": "low"}
# history source names -> the forecast product each is (one product per calibration cell, issue 24 §1):
# the point forecast logger recorded /points -> forecast, the 12-hour periods; the gridpoint forecast is
# the gridpoint series. The live names are accepted as they are.
PRODUCTS = {"nws_point_forecast_logger": "forecast_12h", "nws_gridpoint_forecast": "gridpoint",
            "nws_hourly_forecast": "hourly", "forecast_12h": "forecast_12h", "gridpoint": "gridpoint", "hourly": "hourly"}
# a truth becomes known with the next morning's final CLI: counted from 06:00 local standard time the day
# after (the final report is issued in the small hours; later, never earlier, is the honest side)
TRUTH_KNOWN_AFTER = timedelta(days=1, hours=6)


class HistoryError(ValueError):
    """A history file that does not match the documented schema."""


@dataclass(frozen=True)
class ForecastRow:
    city: str
    kind: str
    target_date: date
    issued_at: datetime
    value_f: float
    source: str


@dataclass(frozen=True)
class TruthRow:
    city: str
    kind: str
    date: date
    value_f: int
    source: str


def _rows(path: Path, columns: list[str]):
    if not path.exists():
        raise HistoryError(f"{path}: missing")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or [c for c in columns if c not in reader.fieldnames]:
            raise HistoryError(f"{path}: columns {reader.fieldnames}, expected {columns}")
        for i, row in enumerate(reader, start=2):
            yield i, row


def read_history(folder: Path) -> tuple[list[ForecastRow], list[TruthRow]]:
    forecasts, truths = [], []
    for line, r in _rows(folder / "forecasts.csv", FORECAST_COLUMNS):
        try:
            kind = KINDS[r["kind"]]
            if r["source"] not in PRODUCTS:
                raise HistoryError(f"{folder / 'forecasts.csv'} line {line}: source {r['source']!r} is not a known "
                                   f"forecast product ({', '.join(sorted(PRODUCTS))})")
            forecasts.append(ForecastRow(r["city"], kind, date.fromisoformat(r["target_date"]),
                                         datetime.fromisoformat(r["issued_at"].replace("Z", "+00:00")),
                                         float(r["value_f"]), r["source"]))
        except (KeyError, ValueError) as exc:
            raise HistoryError(f"{folder / 'forecasts.csv'} line {line}: {exc!r}") from None
    for line, r in _rows(folder / "truth.csv", TRUTH_COLUMNS):
        try:
            truths.append(TruthRow(r["city"], KINDS[r["kind"]], date.fromisoformat(r["date"]),
                                   int(r["value_f"]), r["source"]))
        except (KeyError, ValueError) as exc:
            raise HistoryError(f"{folder / 'truth.csv'} line {line}: {exc!r}") from None
    return forecasts, truths


class Scratch:
    """A throw-away database in the same cluster (or server), migrated like production; dropped on exit."""

    def __init__(self, db: Database, name: str | None = None):
        self.db = db
        self.name = name or f"milkbot_backtest_{os.getpid()}"

    def __enter__(self) -> str:
        with psycopg.connect(self.db.admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.name)))
        conninfo = self.db.admin_conninfo(self.name)
        migrate(conninfo)
        return conninfo

    def __exit__(self, *exc):
        with psycopg.connect(self.db.admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))


def load(conn: psycopg.Connection, forecasts: list[ForecastRow], truths: list[TruthRow]) -> None:
    """History -> the tables ingest fills: one weather snapshot per fetch, its forecasts; CLI finals."""
    cities = {r[0]: r[1] for r in conn.execute("select code, std_utc_offset from ops.cities")}
    unknown = sorted({r.city for r in forecasts + truths} - cities.keys())  # type: ignore[operator]
    if unknown:
        raise HistoryError(f"unknown cities in the history: {unknown}")
    with conn.cursor() as cur:
        # every row in at once (COPY into a staging table), then one weather snapshot per fetch and its
        # forecasts, set-based (row by row this took seconds for a few thousand fetches)
        cur.execute("""create temp table history_forecasts (city text, kind text, target_date date, issued_at timestamptz,
                                                             value_f numeric, source text, product ops.forecast_source)
                       on commit drop""")
        with cur.copy("copy history_forecasts from stdin") as cp:
            for r in forecasts:
                cp.write_row((r.city, r.kind, r.target_date, r.issued_at, r.value_f, r.source, PRODUCTS[r.source]))
        cur.execute(
            """insert into ops.weather_snapshots (source, entity, city_code, fetched_at, issued_at, content_hash, payload)
               select distinct on (h.city, h.source, h.issued_at)
                      case h.product when 'forecast_12h' then 'nws_forecast' when 'gridpoint' then 'nws_gridpoint'
                                     else 'nws_hourly' end::ops.weather_source,
                      'history:' || h.source || ':' || h.city, h.city, h.issued_at, h.issued_at,
                      encode(sha256(convert_to(h.city || '|' || h.source || '|' || h.issued_at, 'UTF8')), 'hex'),
                      jsonb_build_object('history', h.source)
                 from history_forecasts h order by h.city, h.source, h.issued_at""")
        cur.execute(
            """insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at,
                                          fetched_at, grid_id, grid_x, grid_y)
               select w.id, h.city, h.target_date, h.kind, h.product, h.value_f, h.issued_at, h.issued_at, 'HIS', 0, 0
                 from history_forecasts h
                 join ops.weather_snapshots w on w.entity = 'history:' || h.source || ':' || h.city and w.fetched_at = h.issued_at
               on conflict do nothing""")
        cur.execute("drop table history_forecasts")
        # one value per city, day and kind: the NWS CLI where both archives have it
        best: dict[tuple, TruthRow] = {}
        for t in truths:
            key = (t.city, t.date, t.kind)
            if key not in best or (t.source == "nws_cli" and best[key].source != "nws_cli"):
                best[key] = t
        by_day: dict[tuple, dict] = defaultdict(dict)
        for (city, day, kind), t in best.items():
            by_day[(city, day)][kind] = t.value_f
        cur.executemany(
            """insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text, fetched_at)
               values (%s, %s, %s, true, %s, %s, %s, 'history', %s)""",
            [(city, day, f"history:{day}", known, v.get("high"), v.get("low"), known)
             for (city, day), v in sorted(by_day.items())
             for known in [truth_known_at(day, cities[city])]])


def truth_known_at(day: date, std_offset: timedelta) -> datetime:
    """00:00 local standard time of `day` as a UTC instant, plus the time the final CLI takes to land."""
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) - std_offset + TRUTH_KNOWN_AFTER


def replay(conninfo: str, forecasts, truths, start: date | None, end: date | None,
           scored: set | None, params: dict[str, float], decisions: list[str] = ("midnight",)) -> list[dict]:
    with psycopg.connect(conninfo, autocommit=False) as conn:
        conn.execute("set timezone = 'UTC'")
        for name, value in params.items():
            n = conn.execute("update ops.strategy_params set value = %s where strategy = 'all' and name = %s",
                             (value, name)).rowcount
            if n != 1:
                raise HistoryError(f"--param {name}: no such model parameter")
        load(conn, forecasts, truths)
        conn.commit()
        first = min(t.date for t in truths)
        last = max(t.date for t in truths)
        cur = conn.execute("select * from ops.replay_decisions(%s, %s, %s::interval[])",
                           (start or first, end or last, [DECISIONS[d] for d in decisions]))
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        for r in rows:
            r["decision"] = DECISION_NAMES[r["decision"]]
        conn.commit()
    if scored is not None:
        rows = [r for r in rows if (r["city_code"], r["kind"], r["climate_date"]) in scored]
    return rows


def crps_gain_interval(rs: list[dict], draws: int = 1000, seed: int = 24) -> tuple[float, float, float]:
    """The model's CRPS gain over the baseline, 1 - CRPS/CRPS_baseline, and its 95 % interval by a
    bootstrap over days (a day's cities move together: the day is the unit resampled). Vectorised (numpy):
    a draw per row of one index matrix -- in a Python loop the bootstrap took longer than the replay."""
    import numpy as np
    by_day: dict = defaultdict(lambda: [0.0, 0.0])
    for r in rs:
        by_day[r["climate_date"]][0] += float(r["crps"])
        by_day[r["climate_date"]][1] += float(r["crps_baseline"])
    days = np.array(list(by_day.values()))
    gain = 1 - days[:, 0].sum() / days[:, 1].sum()
    idx = np.random.default_rng(seed).integers(0, len(days), size=(draws, len(days)))
    boot = np.sort(1 - days[idx, 0].sum(axis=1) / days[idx, 1].sum(axis=1))
    return float(gain), float(boot[int(0.025 * draws)]), float(boot[int(0.975 * draws) - 1])


def summarise(rows: list[dict]) -> dict:
    def block(rs):
        n = len(rs)
        if not n:
            return {"n": 0}
        mean = lambda k: round(sum(float(r[k]) for r in rs) / n, 4)  # noqa: E731
        g, lo, hi = crps_gain_interval(rs)
        return {"n": n, "crps": mean("crps"), "crps_baseline": mean("crps_baseline"),
                "brier_ladder": mean("brier_ladder"), "brier_ladder_baseline": mean("brier_ladder_baseline"),
                "log_loss": mean("log_loss"), "log_loss_baseline": mean("log_loss_baseline"),
                "crps_gain": round(g, 4), "crps_gain_ci95": [round(lo, 4), round(hi, 4)],
                # how often the central 50/80/90 % intervals held the truth (calibrated: 0.5 / 0.8 / 0.9)
                "coverage": {f"{int(x * 100)}": round(sum(abs(float(r["pit"]) - 0.5) <= x / 2 for r in rs) / n, 4)
                             for x in (0.5, 0.8, 0.9)} if all(r.get("pit") is not None for r in rs) else None}
    cities, decisions = defaultdict(list), defaultdict(list)
    for r in rows:
        cities[r["city_code"]].append(r)
        decisions[r.get("decision", "midnight")].append(r)
    order = list(DECISIONS)
    return {"overall": block(rows), "cities": {c: block(rs) for c, rs in sorted(cities.items())},
            "decisions": {d: {"overall": block(rs),
                              "cities": {c: block([r for r in rs if r["city_code"] == c]) for c in sorted(cities)}}
                          for d, rs in sorted(decisions.items(), key=lambda kv: order.index(kv[0]))}}


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6f}"
    return str(v)


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(OUT_COLUMNS)
        for r in rows:
            w.writerow([r["city_code"], r["kind"], r["climate_date"].isoformat(), _fmt(r["forecast_f"]),
                        _fmt(r["mu"]), _fmt(r["sigma"]), r["truth_f"], _fmt(r["p_truth"]), _fmt(r["crps"]),
                        _fmt(r["crps_baseline"]), _fmt(r["brier_ladder"]), _fmt(r["brier_ladder_baseline"]),
                        r.get("decision", "midnight")])


def reliability(rows: list[dict], bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean forecast p, observed frequency, count) per probability bin, over every ladder outcome."""
    acc = defaultdict(lambda: [0.0, 0.0, 0])
    for r in rows:
        for p, hit in zip(r["ladder_p"], r["ladder_hit"]):
            b = min(int(p * bins), bins - 1)
            acc[b][0] += p
            acc[b][1] += hit
            acc[b][2] += 1
    return [(s / n, h / n, n) for _, (s, h, n) in sorted(acc.items()) if n]


def draw_charts(rows: list[dict], summary: dict, stem: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    rel = reliability(rows)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    ax.plot([p for p, _, _ in rel], [o for _, o, _ in rel], marker="o", label="Milkbot model")
    for p, o, n in rel:
        ax.annotate(str(n), (p, o), textcoords="offset points", xytext=(4, -10), fontsize=7, color="grey")
    ax.set_xlabel("forecast probability of a ladder bracket")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability, day-ahead ladder brackets")
    ax.legend(loc="upper left")
    fig.tight_layout()
    paths.append(stem.with_name(stem.stem + "_reliability.png"))
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    cities = list(summary["cities"])
    model = [summary["cities"][c]["crps"] for c in cities]
    base = [summary["cities"][c]["crps_baseline"] for c in cities]
    fig, ax = plt.subplots(figsize=(6, 4))
    x = range(len(cities))
    ax.bar([i - 0.2 for i in x], model, width=0.4, label="model (rolling calibration)")
    ax.bar([i + 0.2 for i in x], base, width=0.4, label="baseline N(forecast, 3 °F)")
    ax.set_xticks(list(x), [f"{c}\nn={summary['cities'][c]['n']}" for c in cities])
    ax.set_ylabel("mean CRPS, °F (lower is better)")
    ax.set_title("CRPS by city, day-ahead high")
    ax.legend()
    fig.tight_layout()
    paths.append(stem.with_name(stem.stem + "_crps_by_city.png"))
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def run(db: Database, history: Path, train: Path | None = None, start: date | None = None, end: date | None = None,
        params: dict[str, float] | None = None, scratch_name: str | None = None,
        decisions: list[str] = ("midnight",)) -> tuple[list[dict], dict]:
    unknown = [d for d in decisions if d not in DECISIONS]
    if unknown or not decisions:
        raise HistoryError(f"--decisions: {', '.join(unknown) or 'none given'}; choose from {', '.join(DECISIONS)}")
    forecasts, truths = read_history(history)
    scored = {(t.city, t.kind, t.date) for t in truths}
    if train is not None:
        tf, tt = read_history(train)
        forecasts, truths = tf + forecasts, tt + truths
    with Scratch(db, scratch_name) as conninfo:
        rows = replay(conninfo, forecasts, truths, start, end, scored, params or {}, list(decisions))
    return rows, summarise(rows)

