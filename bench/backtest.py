"""Benchmark: `milkbot backtest` wall time per 1,000 scored city-days — on the real history in
../shared/data/history when present, and on a generated one (3 cities x 300 days) always.
The whole run counts: scratch database, migrations, loading, the replay (a re-fit and ops.model_inputs
per decision time, scored in SQL). Run with `make bench` (or `.venv/bin/python bench/backtest.py`).
"""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from milkbot import backtest, config  # noqa: E402
from milkbot.db import Database  # noqa: E402
from test_backtest import write_history  # noqa: E402


def timed(history: Path) -> tuple[int, float]:
    db = Database(config.load())
    t0 = time.perf_counter()
    rows, _ = backtest.run(db, history, scratch_name="milkbot_bench_backtest")
    return len(rows), time.perf_counter() - t0


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


if __name__ == "__main__":
    main()
