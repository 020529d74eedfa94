"""Every log Milkbot writes stays bounded while its processes run (issue 26 §4): a flood of lines from
writers that append — as nginx, PostgREST, Streamlit and pg_ctl do — never leaves a log above its limit
once the keeper has run, the newest lines are in the log, the previous ones in `.1`, nothing else."""
from __future__ import annotations

import subprocess
import sys

from milkbot import logkeeper

WRITER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for line in sys.stdin:                      # one batch per line read: the test drives it, no sleeps
    n, tag = line.split()
    for i in range(int(n)):
        os.write(fd, f"{tag} {i:06d} {'x' * 90}\n".encode())
    print("done", flush=True)
"""


def test_a_flooded_log_stays_bounded_and_keeps_the_newest_lines(tmp_path):
    log = tmp_path / "flooded.log"
    limit = 64 * 1024
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for batch in range(20):                              # 20 x 2,000 lines of 100 bytes = 4 MB written
            writer.stdin.write(f"2000 b{batch:02d}\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "done"
            logkeeper.keep([log], max_bytes=limit)
            assert log.stat().st_size <= limit
            assert (tmp_path / "flooded.log.1").stat().st_size <= 2000 * 101 + limit
        writer.stdin.write("3 last\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "done"
    finally:
        writer.stdin.close()
        writer.wait(10)
    text = log.read_text()
    assert text.startswith("last 000000"), text[:80]          # the writer's next line went to the emptied file
    assert text.count("\n") == 3 and "\0" not in text           # appended at the start, no hole of zeros
    assert (tmp_path / "flooded.log.1").read_text().startswith("b19 000000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flooded.log", "flooded.log.1"]


def test_logs_under_the_limit_or_missing_are_left_alone(tmp_path):
    small = tmp_path / "small.log"
    small.write_text("one line\n")
    assert logkeeper.keep([small, tmp_path / "absent.log"], max_bytes=1024) == []
    assert small.read_text() == "one line\n" and not (tmp_path / "small.log.1").exists()


def test_a_log_that_cannot_be_rotated_is_named_and_left_whole(tmp_path, capsys):
    """The copy fails (here: the place of `.1` is a folder): the log is not truncated, the failure is
    said on stderr, and the next log is still rotated."""
    stuck, other = tmp_path / "stuck.log", tmp_path / "other.log"
    stuck.write_text("x" * 2000)
    (tmp_path / "stuck.log.1").mkdir()
    other.write_text("y" * 2000)
    assert logkeeper.keep([stuck, other], max_bytes=1000) == [other]
    assert stuck.read_text() == "x" * 2000 and other.read_text() == ""
    assert f"could not rotate {stuck}" in capsys.readouterr().err
