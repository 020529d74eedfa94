"""The sim's warm-up (milkbot/supervisor.py) runs ingest, execute and analytics two hours back on one sim
clock: each process starts where the previous one's clock had got to. (Restarted at the same instant,
the executor ran before the books the ingest had just written, and the paper exchange -- which fills only
against books recorded by the order's arrival -- filled nothing.)"""
from __future__ import annotations

import types
from datetime import timedelta

from milkbot import clock
from milkbot.supervisor import SIM_WARMUP_BACK, WarmUp


def test_each_warm_up_process_starts_where_the_last_ones_clock_stopped(tmp_path):
    stub = tmp_path / "milkbot"
    log = tmp_path / "clocks"
    # a stand-in for the three commands: records the clock it was given, then takes 0.4 s of work
    stub.write_text(f'#!/bin/sh\necho "$1 $MILKBOT_CLOCK" >> {log}\nexec sleep 0.4\n')
    stub.chmod(0o755)
    world = types.SimpleNamespace(now_fixed=None)
    before = clock.now()
    warm = WarmUp(world, {"PATH": "/usr/bin:/bin"}, str(stub))
    warm.run()
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [cmd for cmd, _ in lines] == ["ingest", "execute", "analytics"]
    at = [clock.parse_instant(t) for _, t in lines]
    assert before - SIM_WARMUP_BACK - timedelta(seconds=1) <= at[0] <= clock.now() - SIM_WARMUP_BACK
    assert at[1] - at[0] >= timedelta(seconds=0.4) and at[2] - at[1] >= timedelta(seconds=0.4), at
    assert world.now_fixed is None                        # the fakes' world is back on the wall clock
