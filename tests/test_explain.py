"""The operator's "why?" (issue 28 §3): `milkbot explain TICKER [--at]` in plain words from what the cycle
recorded (ops.explain) for a traded, a skipped and a size-capped market; `--prose` through a local fake
of OpenRouter's chat-completions API (and the plain page on its failures, the key never printed); limits
refused in words; the control audit names the person."""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from test_shutdown import env_for
from test_sizing import T0, build_world, cycle, initial_books, quote, send_pending

MILKBOT = str(Path(sys.executable).with_name("milkbot"))
NYC = "KXHIGHNY-26NOV26"


@pytest.fixture
def decided(db):
    """Three ladders quoted and one cycle run at T0; the orders it queued sent to the exchange."""
    conn = db.connect(autocommit=True)
    tickers = build_world(conn)
    conn.execute("update ops.risk_limits set value = 160 where name = 'bankroll'")
    quote(conn, T0, initial_books(tickers))
    cycle(conn, T0)
    send_pending(conn)
    return conn


def explain(db, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([MILKBOT, "explain", *args], env=env_for(db, **env), capture_output=True, text=True, timeout=120)


def traded(conn) -> tuple[str, dict]:
    return conn.execute("""select ticker, sizing from ops.signals where decision = 'trade' and ticker like %s
                            order by id limit 1""", (NYC + "%",)).fetchone()


def test_a_traded_market_says_what_was_bought_why_and_what_bound_the_size(db, decided):
    ticker, sizing = traded(decided)
    side, size, price, model_p = decided.execute(
        "select side, size, price, model_p from ops.signals where ticker = %s", (ticker,)).fetchone()
    out = explain(db, ticker)
    assert out.returncode == 0, out.stderr
    page = out.stdout
    words = "YES" if side == "bid" else "NO"
    cents = round(100 * (price if side == "bid" else 1 - price))
    assert f"Bought {size.normalize():f} {words} at {cents}¢ because the model gave YES {round(100 * model_p, 1)} %" in page, page
    assert "pass edge:" in page and "FAIL" not in page                          # every gate, each in words
    assert "Model: " in page and "forecast from" in page
    assert sizing["bound"] == "kelly" and "Kelly was the binding bound" in page   # a $160 bankroll: Kelly is small
    assert "Order " in page and "RESTING" in page and f"{size.normalize():f} {words}" in page  # the order it sent since


def test_a_skipped_market_says_which_gate_or_rule_stopped_it(db, decided):
    # a bracket of the same ladder that did not trade: another bracket had the better edge, or a gate failed
    ticker, reason = decided.execute("""select ticker, reason from ops.signals
                                         where decision = 'skip' and ticker like %s order by id limit 1""", (NYC + "%",)).fetchone()
    page = explain(db, ticker).stdout
    assert f"Did not trade: {reason}." in page, page
    assert "No order of ours on this market since." in page
    # before any cycle had looked at it
    early = explain(db, ticker, "--at", (T0 - timedelta(hours=1)).isoformat())
    assert early.returncode == 0 and "no cycle has evaluated it by 2026-11-25 17:00 UTC" in early.stdout, early.stdout


def test_a_size_capped_market_names_the_cap_that_was_reached(db):
    """The Northeast cluster cap tightened to $12 with NYC and PHL both wanting to buy: the second of them
    in edge order gets what is left, and says so with the numbers."""
    conn = db.connect(autocommit=True)
    tickers = build_world(conn)
    conn.execute("update ops.risk_limits set value = 12 where name = 'max_cluster_exposure'")
    quote(conn, T0, initial_books(tickers))
    cycle(conn, T0)
    ticker, sizing = conn.execute("""select ticker, sizing from ops.signals
                                      where sizing->>'bound' = 'cluster' order by id limit 1""").fetchone()
    page = explain(db, ticker).stdout
    taken = 12 - float(sizing["cluster_loss"]) - float(sizing["cluster_left"])
    assert (f"Not more because of the {sizing['cluster']} cluster cap of $12 on worst-case loss: ${float(sizing['cluster_loss']):.2f} "
            f"was at risk there already and this cycle's better edges took ${taken:.2f}") in page, page
    assert float(sizing["cluster_loss"]) <= 12


def test_an_unknown_ticker_is_a_clear_error(db, decided):
    out = explain(db, "KXNOPE-26NOV26-B1")
    assert out.returncode == 1 and out.stdout == ""
    assert "no market KXNOPE-26NOV26-B1" in out.stderr and "Traceback" not in out.stderr
    bad = explain(db, traded(decided)[0], "--at", "2026-11-25 17:00")      # no zone: refused, not guessed
    assert bad.returncode == 2 and "time zone" in bad.stderr


class FakeOpenRouter:
    """OpenRouter's POST /api/v1/chat/completions on 127.0.0.1: records each request; answers with
    `answer` (a completion), an HTTP status, or holds the request until released (a timeout)."""

    def __init__(self):
        self.requests, self.status, self.hold = [], 200, threading.Event()
        self.hold.set()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                fake.hold.wait(60)
                out = json.dumps({"id": "gen-1", "object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                      "role": "assistant", "content": "In short: the bot bought a few contracts."}}]}).encode()
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:          # the client gave up (the timeout case)
                    pass

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def openrouter():
    f = FakeOpenRouter()
    yield f
    f.close()


KEY = "sk-or-v1-test-secret-0123456789"


def test_prose_rephrases_only_the_recorded_page_and_never_shows_the_key(db, decided, openrouter):
    ticker = traded(decided)[0]
    plain = explain(db, ticker).stdout
    out = explain(db, ticker, "--prose", MILKBOT_OPENROUTER_API_KEY=KEY, MILKBOT_OPENROUTER_URL=openrouter.url,
                  MILKBOT_OPENROUTER_MODEL="test/model")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("In short: the bot bought a few contracts.")
    assert "rephrased by test/model" in out.stdout and out.stdout.rstrip().endswith(plain.rstrip())
    (req,) = openrouter.requests
    assert req["path"] == "/api/v1/chat/completions" and req["auth"] == f"Bearer {KEY}"
    assert req["body"]["model"] == "test/model"
    assert req["body"]["messages"][-1] == {"role": "user", "content": plain.rstrip("\n")}   # the page, nothing else
    assert KEY not in out.stdout + out.stderr


@pytest.mark.parametrize("failure", ["http 500", "timeout", "no key"])
def test_prose_falls_back_to_the_plain_page(db, decided, openrouter, failure):
    ticker = traded(decided)[0]
    plain = explain(db, ticker).stdout
    env = dict(MILKBOT_OPENROUTER_API_KEY=KEY, MILKBOT_OPENROUTER_URL=openrouter.url, MILKBOT_OPENROUTER_TIMEOUT_S="1")
    if failure == "http 500":
        openrouter.status = 500
    elif failure == "timeout":
        openrouter.hold.clear()           # the fake holds the request until the test is done with it
    else:
        env["MILKBOT_OPENROUTER_API_KEY"] = ""
    out = explain(db, ticker, "--prose", **env)
    openrouter.hold.set()
    assert out.returncode == 0 and out.stdout == plain, out.stderr
    assert "the plain page follows" in out.stderr and KEY not in out.stdout + out.stderr
    assert {"http 500": "HTTP 500", "timeout": "no answer within 1 s", "no key": "not set"}[failure] in out.stderr


def test_a_limit_out_of_bounds_is_refused_in_words_and_the_audit_names_the_person(db):
    op = db.connect("milkbot_operator")
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        op.execute("update ops.risk_limits set value = 5000000 where name = 'max_cluster_exposure'")
    diag = err.value.diag
    assert diag.message_primary == "risk limit max_cluster_exposure: 5000000 is above its maximum 1000000", diag.message_primary
    assert diag.message_detail.startswith("allowed: 0 to 1000000; it bounds: Worst-case loss summed over the events of one cluster")
    with pytest.raises(psycopg.errors.CheckViolation, match=r"strategy parameter min_edge \(all\): -0.01 is below its minimum 0"):
        op.execute("update ops.strategy_params set value = -0.01 where name = 'min_edge' and strategy = 'all'")
    # the person: the session's milkbot.operator (what `milkbot db psql` sets), else the login
    op.execute("set milkbot.operator = 'alice'")
    op.execute("update ops.risk_limits set value = 150 where name = 'max_cluster_exposure'")
    op.execute("reset milkbot.operator")
    op.execute("update ops.risk_limits set value = 160 where name = 'max_cluster_exposure'")
    rows = db.admin.execute("""select operator, acting_role, new_row->>'value' from ops.control_audit
                                where table_name = 'risk_limits' order by id desc limit 2""").fetchall()
    assert rows == [("milkbot_operator", "milkbot_operator", "160"), ("alice", "milkbot_operator", "150")], rows


def test_milkbot_db_psql_sets_the_person_from_the_environment(db):
    env = env_for(db, MILKBOT_OPERATOR="bob o'neil")
    out = subprocess.run([MILKBOT, "db", "psql", "--", "-At", "-c", "show milkbot.operator"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "bob_o_neil"
