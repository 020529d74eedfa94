"""Benchmark: `milkbot backtest` wall time per 1,000 scored city-days — on the real history in
../shared/data/history when present, and on a generated one (3 cities x 300 days) always.
The whole run counts: scratch database, migrations, loading, the replay (a re-fit and ops.model_inputs
per decision time, scored in SQL). Then the priced replay (`--prices`): its cost per decision time (the
recorded world advanced, paper fills, the live cycle, the executor), on the recorded NYC prices when
present (a cycle every 15 minutes) and on the tests' generated recording.
Run with `make bench` (or `.venv/bin/python bench/backtest.py`).
"""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from milkbot import backtest, config, priced_replay  # noqa: E402
from milkbot.db import Database  # noqa: E402
from test_backtest import write_history  # noqa: E402
from test_priced_replay import write_world  # noqa: E402


def timed(history: Path) -> tuple[int, float]:
    db = Database(config.load())
    t0 = time.perf_counter()
    rows, _ = backtest.run(db, history, scratch_name="milkbot_bench_backtest")
    return len(rows), time.perf_counter() - t0


def priced(history: Path, prices: Path, every: int | None) -> str:
    db = Database(config.load())
    t0 = time.perf_counter()
    _, _, summary = priced_replay.run(db, history, prices, every_min=every, scratch_name="milkbot_bench_priced")
    s, n = time.perf_counter() - t0, summary["replay"]["decision_times"]
    return f"{n} decision times in {s:.1f} s = {1000 * s / n:.0f} ms per decision (whole run)"


def main() -> None:
    real = ROOT.parent / "shared" / "data" / "history"
    if real.is_dir():
        n, s = timed(real)
        print(f"backtest, real history: {n} city-days in {s:.1f} s = {1000 * s / n:.1f} s per 1,000 city-days")
    else:
        print("backtest, real history: ../shared/data/history absent, skipped")
    with tempfile.TemporaryDirectory() as tmp:
        write_history(Path(tmp), days=300, start=date(2025, 1, 1))
        n, s = timed(Path(tmp))
        print(f"backtest, generated history (3 cities x 300 days): {n} city-days in {s:.1f} s = {1000 * s / n:.1f} s per 1,000 city-days")
    if real.is_dir() and (real.parent / "prices").is_dir():
        print("priced replay, recorded NYC prices, a cycle every 15 min: " + priced(real, real.parent / "prices", 15))
    with tempfile.TemporaryDirectory() as tmp:
        write_world(Path(tmp) / "w")
        print("priced replay, generated recording (5 days, the four decision times): "
              + priced(Path(tmp) / "w" / "history", Path(tmp) / "w" / "prices", None))


if __name__ == "__main__":
    main()
