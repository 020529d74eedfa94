"""The complete privilege matrix of the app roles, pinned in tests/db/expected_privileges.txt.

Any widened (or narrowed) grant, on a table, column, sequence, function or schema, fails here with the
exact difference. After an intended change: MILKBOT_UPDATE_EXPECTED=1 pytest tests/test_privileges.py,
then review the diff of the expected file in the commit.
"""
from __future__ import annotations

import os

import psycopg
import pytest
from pathlib import Path

EXPECTED = Path(__file__).parent / "db" / "expected_privileges.txt"
ROLES = ("web_anon", "milkbot_authenticator", "milkbot_ingest", "milkbot_executor",
         "milkbot_analytics", "milkbot_operator", "milkbot_cycle")
SCHEMAS = ("ops", "api", "analytics", "pgmq", "meta", "public")

MATRIX_SQL = """
with roles(r) as (select unnest(%(roles)s::text[])),
schemas(s) as (select unnest(%(schemas)s::text[])),
rels as (
    select c.oid, n.nspname || '.' || c.relname as name, c.relkind
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p', 'f', 'S')
)
select r, 'schema', s, p from roles, schemas, unnest(array['USAGE', 'CREATE']) p
 where has_schema_privilege(r, s, p)
union all
select r, case relkind when 'S' then 'sequence' else 'table' end, name, p
  from roles, rels, unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
 where relkind <> 'S' and has_table_privilege(r, oid, p)
union all
select r, 'sequence', name, p from roles, rels, unnest(array['USAGE', 'SELECT', 'UPDATE']) p
 where relkind = 'S' and has_sequence_privilege(r, oid, p)
union all
select r, 'column', name || '.' || a.attname, p
  from roles, rels join pg_attribute a on a.attrelid = rels.oid and a.attnum > 0 and not a.attisdropped,
       unnest(array['SELECT', 'INSERT', 'UPDATE']) p
 where relkind <> 'S' and has_column_privilege(r, rels.oid, a.attnum, p)
   and not has_table_privilege(r, rels.oid, p)
union all
select r, 'function', p.oid::regprocedure::text, 'EXECUTE'
  from roles, pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = any(%(schemas)s) and has_function_privilege(r, p.oid, 'EXECUTE')
order by 1, 2, 3, 4
"""


def privilege_matrix(conn) -> list[str]:
    rows = conn.execute(MATRIX_SQL, {"roles": list(ROLES), "schemas": list(SCHEMAS)}).fetchall()
    return [" ".join(r) for r in rows]


def test_privilege_matrix_is_exactly_as_pinned(db):
    actual = privilege_matrix(db.admin)
    if os.environ.get("MILKBOT_UPDATE_EXPECTED") == "1":
        EXPECTED.write_text("\n".join(actual) + "\n")
    expected = [l for l in EXPECTED.read_text().splitlines() if l and not l.startswith("#")]
    widened = sorted(set(actual) - set(expected))
    narrowed = sorted(set(expected) - set(actual))
    assert not widened and not narrowed, (
        "privileges differ from tests/db/expected_privileges.txt\n"
        + "".join(f"  + {l}\n" for l in widened) + "".join(f"  - {l}\n" for l in narrowed))


def test_web_anon_reaches_only_api(db):
    rows = [l for l in privilege_matrix(db.admin) if l.startswith("web_anon ")]
    outside = [l for l in rows if not (l.startswith("web_anon schema api USAGE")
                                       or l.split()[2].startswith("api."))]
    assert rows and not outside, outside
    executes = [l for l in rows if l.split()[3] == "EXECUTE"]
    assert executes == ["web_anon function api.pre_request() EXECUTE"], executes   # PostgREST's pre-request hook
    assert all(l.split()[3] in ("SELECT", "USAGE") for l in rows if l not in executes), rows


def test_widening_a_grant_is_detected(db):
    """The guard itself can fail: grant one extra privilege and the matrix no longer matches."""
    before = set(privilege_matrix(db.admin))
    db.admin.execute("grant select on ops.orders to milkbot_ingest")
    after = set(privilege_matrix(db.admin))
    assert after - before == {"milkbot_ingest table ops.orders SELECT"}


def test_operator_runs_the_read_only_functions_but_none_that_write(db):
    op = db.connect("milkbot_operator")
    assert abs(op.execute("select ops.norm_cdf(1.0)").fetchone()[0] - 0.8413447460685429) < 1e-12
    assert op.execute("select ops.climate_date('2026-11-25 04:59:00Z', interval '-5 hours')").fetchone()[0].isoformat() == "2026-11-24"
    assert op.execute("select ops.taker_fee(0.50, 10, 1)").fetchone()[0] > 0
    op.execute("select * from ops.event_worst_case_loss(now(), 'live', true)").fetchall()
    op.execute("select * from ops.v_exposure").fetchall()
    for call in ("select ops.run_cycle(now())", "select ops.refresh_positions(now())",
                 "select ops.heartbeat('executor', true, 'x')", "select ops.report_exchange_positions(now(), 'paper', '{}')"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            op.execute(call)
    # structurally: what the operator may execute is immutable or stable, except the re-fits (calibration,
    # market blend, min_edge from the measured edge), which are operator actions by design
    volatile = db.admin.execute(
        """select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname in ('ops', 'analytics', 'api', 'pgmq') and p.provolatile = 'v'
              and has_function_privilege('milkbot_operator', p.oid, 'EXECUTE') order by 1""").fetchall()
    assert volatile == [("ops.fit_blend(timestamp with time zone)",),
                        ("ops.fit_calibration(timestamp with time zone)",),
                        ("ops.fit_min_edge(timestamp with time zone,ops.trading_mode)",),
                        ("ops.refit_calibration_if_due(timestamp with time zone)",)], volatile
