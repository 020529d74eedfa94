"""Runs every pgTAP file in tests/db/ in its own fresh database and fails on any not-ok line.

Each file is plain SQL (begin; plan; assertions; finish; rollback), as pg_prove would run it; running it
through pytest keeps one runner and one closing line for CI.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PGTAP_DIR = Path(__file__).parent / "db"
FILES = sorted(PGTAP_DIR.glob("*.sql"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_pgtap_file(db, path):
    # pgTAP is installed per test database (never in the template) and callable by the roles the
    # tests switch to; Milkbot's own default privileges would otherwise hide it from them.
    db.admin.execute("create extension if not exists pgtap")
    db.admin.execute("grant usage on schema public to public")
    db.admin.execute("grant execute on all functions in schema public to public")
    proc = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", db.conninfo(), "-f", str(path)],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"psql failed on {path.name}:\n{proc.stderr}\n{out[-3000:]}"
    plan = re.search(r"^1\.\.(\d+)$", out, re.M)
    assert plan, f"no TAP plan in output of {path.name}:\n{out[-3000:]}"
    oks = re.findall(r"^ok \d+", out, re.M)
    failures = [l for l in out.splitlines() if l.startswith("not ok")]
    diag = "\n".join(l for l in out.splitlines() if l.startswith("#"))
    assert not failures, f"{path.name}: " + "\n".join(failures) + "\n" + diag
    assert len(oks) == int(plan.group(1)), f"{path.name}: planned {plan.group(1)}, ran {len(oks)}\n{diag}"
