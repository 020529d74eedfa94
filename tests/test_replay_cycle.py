"""Replay as of (issue 23 §1.10): a recorded cycle, replayed after everything it read in place has
changed (parameters, limits, trading state, a city switched off, the exchange status, markets closed
and settled, a new market listed), evaluates every market exactly as it did: ops.replay_cycle answers
no difference. The same evaluation against today's rows differs on every market."""
from __future__ import annotations

from datetime import timedelta

import pytest

from test_sizing import T0, build_world, initial_books, quote


@pytest.fixture
def recorded(db):
    """Three ladders quoted at T0, one cycle run and committed (some markets trade, most skip)."""
    conn = db.connect(autocommit=False)
    tickers = build_world(conn)
    quote(conn, T0, initial_books(tickers))
    conn.execute("select ops.run_cycle(%s)", (T0,))
    conn.commit()
    yield conn, tickers
    conn.close()


def change_everything(conn, tickers) -> None:
    """What happens after the cycle: the operator edits controls, the exchange and the markets move on."""
    conn.execute("update ops.strategy_params set value = value + 0.02 where strategy = 'all' and name = 'min_edge'")
    conn.execute("update ops.strategy_params set value = 5 where strategy = 'all' and name = 'max_quote_age_min'")
    conn.execute("update ops.strategy_params set value = 1 where strategy = 'all' and name = 'max_forecast_jump_sigma'")
    conn.execute("update ops.risk_limits set value = 1 where name = 'max_contracts_per_market'")
    conn.execute("update ops.trading_state set state = 'HALTED', reason = 'test: after the cycle'")
    conn.execute("update ops.cities set enabled = false where code = 'SEA'")
    conn.execute("update ops.exchange_status set trading_active = false, fetched_at = %s", (T0 + timedelta(days=2),))
    conn.execute("""update ops.markets set status = 'finalized', result = 'no', volume = volume + 900, open_interest = 0,
                                           close_time = close_time - interval '1 hour'
                     where ticker like 'KXHIGHNY-%%'""")
    conn.execute("update ops.markets set status = 'closed' where ticker like 'KXHIGHPHIL-%%'")
    conn.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                             floor_strike, cap_strike, open_time, close_time, status, open_interest, volume)
                    values ('KXHIGHNY-26NOV26-B52.5', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'between',
                            52, 53, '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active', 500, 2000)""")
    conn.commit()


def test_a_recorded_cycle_replays_exactly_after_everything_changed(recorded):
    conn, tickers = recorded
    n_signals = conn.execute("select count(*) from ops.signals where as_of = %s", (T0,)).fetchone()[0]
    assert n_signals == len(tickers)
    assert conn.execute("select count(*) from ops.signals where as_of = %s and decision = 'trade'", (T0,)).fetchone()[0] > 0
    assert conn.execute("select count(*) from ops.replay_cycle(%s)", (T0,)).fetchone()[0] == 0   # nothing changed yet

    change_everything(conn, tickers)

    # what the old code did: evaluate against the rows as they are now -- every market differs or is gone
    now_rows = conn.execute("""select e.ticker, e.gates, s.gates from ops.evaluate_markets(%s) e
                                 right join ops.signals s on s.ticker = e.ticker and s.as_of = %s""", (T0, T0)).fetchall()
    assert all(gates_now != gates_then for _, gates_now, gates_then in now_rows)

    diffs = conn.execute("select * from ops.replay_cycle(%s)", (T0,)).fetchall()
    assert diffs == [], diffs[:10]


def test_the_replay_reads_what_the_cycle_read_even_from_its_own_transaction(db):
    """A change made in the cycle's own transaction, before it ran, is what the cycle saw; one made
    after it in the same transaction is not."""
    conn = db.connect(autocommit=False)
    tickers = build_world(conn)
    quote(conn, T0, initial_books(tickers))
    conn.execute("update ops.strategy_params set value = 0.5 where strategy = 'all' and name = 'min_edge'")   # before: no trade
    conn.execute("select ops.run_cycle(%s)", (T0,))
    conn.execute("update ops.strategy_params set value = 0.01 where strategy = 'all' and name = 'min_edge'")  # after
    conn.commit()
    assert conn.execute("select count(*) from ops.signals where as_of = %s and decision = 'trade'", (T0,)).fetchone()[0] == 0
    assert conn.execute("select count(*) from ops.replay_cycle(%s)", (T0,)).fetchone()[0] == 0
    # and today's parameters would have traded: the replay is not just "whatever is current"
    assert conn.execute("select count(*) from ops.evaluate_markets(%s) where all_pass", (T0,)).fetchone()[0] > 0


def test_an_unrecorded_cycle_is_a_clear_error(db):
    conn = db.connect(autocommit=True)
    with pytest.raises(Exception, match="no cycle was recorded"):
        conn.execute("select * from ops.replay_cycle(%s)", (T0,))


def test_the_undo_log_is_append_only(recorded):
    conn, _ = recorded
    conn.execute("update ops.exchange_status set fetched_at = fetched_at + interval '1 minute'")
    conn.commit()
    with pytest.raises(Exception, match="append-only"):
        conn.execute("delete from ops.row_undo")
    conn.rollback()


def test_the_undo_log_keeps_thirty_days_and_says_when_a_cycle_is_older(recorded):
    conn, tickers = recorded
    conn.execute("update ops.markets set volume = volume + 1 where ticker = %s", (tickers[0],))
    conn.commit()
    # a change older than the window may be pruned, a younger one may not
    conn.execute("alter table ops.row_undo disable trigger append_only")
    conn.execute("update ops.row_undo set at = at - interval '40 days' where key = %s", (tickers[0],))
    conn.execute("alter table ops.row_undo enable trigger append_only")
    conn.commit()
    assert conn.execute("delete from ops.row_undo where key = %s", (tickers[0],)).rowcount == 1
    with pytest.raises(Exception, match="append-only"):
        conn.execute("delete from ops.row_undo")
    conn.rollback()
    conn.execute("update ops.cycles set known_at = known_at - interval '31 days' where as_of = %s", (T0,))
    conn.commit()
    with pytest.raises(Exception, match="keeps 30 days"):
        conn.execute("select * from ops.replay_cycle(%s)", (T0,))
    conn.rollback()
