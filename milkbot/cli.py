"""`milkbot` command: one entry point for the operator.

    milkbot db up|down|status|migrate|url|psql|backup|restore
    milkbot ingest|execute|analytics|api|dashboard|up      the services (README)
    milkbot edge render|check|refresh-ips                  the public nginx (deploy/README.md)
    milkbot install --print|--out DIR --ssh-from CIDR      systemd units, firewall, configs for a server
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from . import config
from .cluster import ClusterError
from .config import mask_url
from .db import Database
from .migrate import MigrationError, migrate, status as migration_status
from .shutdown import quietly


def _db(args) -> Database:
    return Database(config.load())


def cmd_db_up(args) -> int:
    db = _db(args)
    if db.cluster:
        db.cluster.start()
        db.ensure_database()
    report = migrate(db.admin_conninfo())
    print(f"migrate: {report.summary()}")
    return cmd_db_status(args)


def cmd_db_down(args) -> int:
    db = _db(args)
    if not db.cluster:
        print("MILKBOT_DATABASE_URL is set: that server is not Milkbot's to stop")
        return 0
    db.cluster.stop()
    print("postgres: stopped")
    return 0


def cmd_db_status(args) -> int:
    db = _db(args)
    where = (f"embedded cluster {db.cluster.data} (socket {db.cluster.run_dir}, 127.0.0.1:{db.cluster.port})"
             if db.cluster else mask_url(db.settings.database_url))
    if db.cluster and not db.cluster.running():
        print(f"postgres: down ({where}); run `milkbot db up`")
        return 1
    try:
        with psycopg.connect(db.admin_conninfo(), connect_timeout=5) as conn:
            version = conn.execute("show server_version").fetchone()[0]
            state = None
            if conn.execute("select to_regclass('ops.trading_state') is not null").fetchone()[0]:
                state = conn.execute("select state from ops.trading_state").fetchone()[0]
        applied, pending, latest = migration_status(db.admin_conninfo())
    except psycopg.Error as exc:
        print(f"postgres: unreachable ({where}): {str(exc).strip().splitlines()[0]}")
        return 1
    print(f"postgres {version}: up, {where}, database {db.settings.db_name}: "
          f"{applied} migrations applied (latest {latest}), {pending} pending; trading state {state}")
    return 0 if pending == 0 else 1


def cmd_db_migrate(args) -> int:
    db = _db(args)
    if args.create_database and db.create_database():
        print(f"created database {db.settings.db_name}")
    print(migrate(db.admin_conninfo()).summary())
    return 0


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def cmd_db_backup(args) -> int:
    from pathlib import Path
    from .backup import BackupError, backup
    db = _db(args)
    try:
        dump = backup(db, Path(args.to), keep_days=args.keep_days)
    except (BackupError, psycopg.Error) as exc:
        print(f"milkbot db backup: {_first_line(exc)}", file=sys.stderr)
        return 1
    print(f"backup: {dump} ({dump.stat().st_size:,} bytes)")
    return 0


def cmd_db_restore(args) -> int:
    from pathlib import Path
    from .backup import BackupError, restore
    db = _db(args)
    try:
        compared = restore(db, Path(args.dump), args.into)
    except (BackupError, psycopg.Error) as exc:
        print(f"milkbot db restore: {_first_line(exc)}", file=sys.stderr)
        return 1
    rows = sum(b for _, b in compared.values())
    print(f"restore: {args.dump} -> database {args.into}: {len(compared)} tables, {rows:,} rows, "
          "every table's count equal to the dump's")
    return 0


def cmd_install(args) -> int:
    from pathlib import Path
    from . import install
    from .edge import EdgeError
    settings = config.load()
    ssh = args.ssh_from or [c for c in settings.extra.get("MILKBOT_OPERATOR_SSH_FROM", "").split(",") if c.strip()]
    cfg = install.InstallConfig.from_settings(
        settings, ssh, prefix=Path(args.prefix).resolve() if args.prefix else None, mode=args.mode,
        server_name=args.server_name, ssh_port=args.ssh_port, operator_user=args.operator_user,
        external_db=args.external_db, origin_pull=args.origin_pull, keep_days=args.keep_days)
    try:
        rendered = install.files(cfg)
    except (install.InstallError, EdgeError) as exc:
        print(f"milkbot install: {exc}", file=sys.stderr)
        return 2
    for w in cfg.warnings:
        print(f"milkbot install: warning: {w}", file=sys.stderr)
    if args.out:
        for path in install.write(rendered, Path(args.out)):
            print(path)
    else:
        sys.stdout.write(install.printed(rendered))
    return 0


def cmd_db_url(args) -> int:
    db = _db(args)
    url = db.role_url(args.role)
    print(url if args.reveal else mask_url(url))
    return 0


def cmd_db_psql(args) -> int:
    db = _db(args)
    psql = shutil.which("psql")
    if not psql:
        print("psql not found; install postgresql-client", file=sys.stderr)
        return 1
    dsn = db.role_conninfo(args.role)
    extra = args.psql_args[1:] if args.psql_args[:1] == ["--"] else args.psql_args
    # the control audit names the person who changes a limit (ops.control_audit.operator)
    os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + f" -c milkbot.operator={operator_name()}").strip()
    os.execv(psql, [psql, "-d", dsn, *extra])
    return 0  # not reached


def operator_name() -> str:
    """Who is at the keyboard: MILKBOT_OPERATOR, else the login (the one behind sudo), in characters a
    libpq option carries as they are."""
    import getpass
    import re
    name = os.environ.get("MILKBOT_OPERATOR") or os.environ.get("SUDO_USER") or getpass.getuser()
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", name)[:64] or "unknown"


def cmd_ingest(args) -> int:
    from workers.ingest.main import run
    return quietly("ingest", lambda: run(config.load(), once=args.once, interval=args.interval))


def cmd_feed(args) -> int:
    from workers.ingest.feed import run
    return quietly("feed", lambda: run(config.load()))


def cmd_tape_export(args) -> int:
    from datetime import date
    from pathlib import Path
    from .tape import export
    try:
        first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
        rows = export(Database(config.load()).role_conninfo("milkbot_operator"), first, last, Path(args.dir))
    except ValueError as exc:
        print(f"milkbot tape export: {exc}", file=sys.stderr)
        return 2
    for name, n in rows.items():
        print(f"{Path(args.dir) / name}: {n} rows")
    return 0


def cmd_execute(args) -> int:
    from workers.executor.main import run
    return quietly("executor", lambda: run(config.load(), once=args.once))


def cmd_analytics(args) -> int:
    from .analytics import run
    return quietly("analytics", lambda: run(config.load(), interval=args.interval))


def cmd_edge(args) -> int:
    from pathlib import Path
    from . import edge
    settings = config.load()
    try:
        if args.edge_cmd == "refresh-ips":
            print(f"edge: {edge.refresh_ranges()} Cloudflare ranges written to {edge.CF_RANGES}")
            return 0
        conf = edge.render(edge.EdgeConfig.from_settings(settings, Path(args.out) if args.out else None))
    except edge.EdgeError as exc:
        print(f"milkbot edge: {exc}", file=sys.stderr)
        return 2
    if args.edge_cmd == "render":
        print(conf)
        return 0
    ok, message = edge.check(conf)
    print(f"edge: {conf}: {'ok' if ok else 'INVALID'}" + (f"\n{message}" if message and not ok else ""))
    return 0 if ok else 1


def cmd_dashboard(args) -> int:
    from .dashboard_server import serve
    return serve(config.load(), port=args.port)


def cmd_api(args) -> int:
    from .api import serve
    return quietly("api", lambda: serve(config.load()))


def cmd_up(args) -> int:
    from .shutdown import ForegroundGroup
    from .supervisor import up
    with ForegroundGroup():      # Ctrl-C reaches us, not a `make run` waiting on us (which would exit 130)
        return quietly("milkbot up", lambda: up(sim=args.sim))


def cmd_explain(args) -> int:
    """A market's newest recorded decision (at or before --at) in plain words: ops.explain, as the operator."""
    import psycopg
    from .clock import parse_instant
    try:
        at = parse_instant(args.at) if args.at else None
    except ValueError as exc:
        print(f"explain: --at: {exc}", file=sys.stderr)
        return 2
    db = _db(args)
    try:
        with psycopg.connect(db.role_conninfo("milkbot_operator"), autocommit=True) as conn:
            lines = [r[0] for r in conn.execute("select ops.explain(%s, %s)", (args.ticker, at))]
    except psycopg.errors.NoDataFound as exc:
        print(f"explain: {exc.diag.message_primary}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"explain: the database is not reachable ({str(exc).strip().splitlines()[0]}); "
              f"start it with `milkbot db up`", file=sys.stderr)
        return 1
    page = "\n".join(lines)
    if args.prose:
        from .prose import rephrase
        page = rephrase(page)
    print(page)
    return 0


def cmd_cli_report(args) -> int:
    """Print one JSON line per station report in saved CLI bulletins; exit 1 on any unreadable file."""
    import json
    from workers.ingest.cli_report import CliParseError, parse_cli_product, parse_cli_text
    failed = 0
    for name in args.files:
        try:
            text = open(name, encoding="utf-8", errors="strict").read()
            stripped = text.lstrip()
            if stripped.startswith("{"):
                try:
                    payload = json.loads(text)
                except ValueError as exc:
                    raise CliParseError(f"looks like JSON but is not: {exc}") from None
                reports = parse_cli_product(payload)[0]
            else:
                reports = parse_cli_text(text)
        except (OSError, UnicodeDecodeError, CliParseError) as exc:
            print(f"milkbot cli-report: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for r in reports:
            print(json.dumps(r.as_dict()))
    return 1 if failed else 0


def cmd_backtest(args) -> int:
    import json
    from datetime import date
    from pathlib import Path
    from . import backtest
    params = {}
    for item in args.param:
        name, _, value = item.partition("=")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            print(f"milkbot backtest: --param {item!r}: expected name=number", file=sys.stderr)
            return 2
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
    except ValueError as exc:
        print(f"milkbot backtest: {exc}", file=sys.stderr)
        return 2
    db = _db(args)
    if db.cluster:
        db.cluster.start()
    if args.prices:
        return _priced_backtest(args, db, start, end)
    try:
        rows, summary = backtest.run(db, Path(args.history), Path(args.train) if args.train else None, start, end, params,
                                     decisions=[d.strip() for d in args.decisions.split(",") if d.strip()])
    except backtest.HistoryError as exc:
        print(f"milkbot backtest: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:   # the scratch database is dropped on the way out
        print(f"milkbot backtest: {_database_error(exc)}", file=sys.stderr)
        return 2
    if args.out:
        out = Path(args.out)
        backtest.write_csv(rows, out)
        charts = backtest.draw_charts(rows, summary, out) if rows else []
        print(f"wrote {out} ({len(rows)} rows)" + "".join(f", {c}" for c in charts), file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        o = summary["overall"]
        if not o["n"]:
            print("no (city, kind, day) had both a forecast at decision time and a settled value")
            return 1
        for decision, part in summary["decisions"].items():
            if len(summary["decisions"]) > 1:
                print(f"decision: {decision}")
            print(f"{'city':6}{'n':>5}{'crps':>9}{'base':>9}{'gain':>8}{'95% CI by day':>17}{'brier':>9}{'base':>9}{'logloss':>9}"
                  f"{'50/80/90% intervals held':>26}")
            for name, b in [*part["cities"].items(), ("ALL", part["overall"])]:
                if b["n"]:
                    lo, hi = b["crps_gain_ci95"]
                    print(f"{name:6}{b['n']:>5}{b['crps']:>9.3f}{b['crps_baseline']:>9.3f}{b['crps_gain']:>+8.1%}"
                          f"{f'{lo:+.1%} .. {hi:+.1%}':>17}{b['brier_ladder']:>9.3f}"
                          f"{b['brier_ladder_baseline']:>9.3f}{b['log_loss']:>9.3f}"
                          + (f"{' / '.join(f'{v:.0%}' for v in b['coverage'].values()):>26}" if b.get("coverage") else ""))
    return 0


def _database_error(exc: psycopg.Error) -> str:
    return (f"database error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            + (f" ({exc.diag.context.splitlines()[0]})" if getattr(getattr(exc, "diag", None), "context", None) else ""))


def _priced_backtest(args, db, start, end) -> int:
    """`milkbot backtest --prices DIR`: the live cycle over recorded prices (milkbot/priced_replay.py)."""
    from pathlib import Path
    from . import priced_replay
    if args.param:
        print("milkbot backtest: --param is for the model backtest; the priced replay runs the live defaults", file=sys.stderr)
        return 2
    decisions = [d.strip() for d in (args.decisions if args.decisions != "midnight" else "open,evening,midnight,morning").split(",") if d.strip()]
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    try:
        tz = ZoneInfo(args.tick_tz) if args.tick_tz else None
    except (ZoneInfoNotFoundError, ValueError):
        print(f"milkbot backtest: --tick-tz {args.tick_tz!r} is not a time zone name (e.g. America/New_York, UTC)", file=sys.stderr)
        return 2
    if args.assume_size is not None and args.assume_size < 1:
        print("milkbot backtest: --assume-size must be at least 1 contract", file=sys.stderr)
        return 2
    ticks = priced_replay.TickFormat(tz, args.tick_units, args.assume_size)
    try:
        signals, orders, summary = priced_replay.run(db, Path(args.history), Path(args.prices), start, end, decisions,
                                                     args.half_spread_cents, args.quote_age_min, args.every, log=log,
                                                     tick_format=ticks)
    except priced_replay.HistoryError as exc:
        print(f"milkbot backtest: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        print(f"milkbot backtest: {_database_error(exc)}", file=sys.stderr)
        return 2
    if args.out:
        out = Path(args.out)
        files = priced_replay.write_csvs(signals, orders, out)
        out.with_suffix(".json").write_text(priced_replay.to_json(summary) + "\n")
        files += [out.with_suffix(".json"), *priced_replay.draw_charts(signals, orders, out)]
        print("wrote " + ", ".join(str(f) for f in files), file=sys.stderr)
    if args.json:
        print(priced_replay.to_json(summary))
        return 0
    print(priced_replay.report(summary))
    return 0


def cmd_sim_serve(args) -> int:
    from .sim.serve import serve
    return serve(config.load().state_dir, args.nws_port, args.kalshi_port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="milkbot", description="Milkbot: Kalshi weather-market trading, Postgres-centric.")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the database: start, stop, migrate, connect")
    dbs = db.add_subparsers(dest="db_command", required=True)
    dbs.add_parser("up", help="start the embedded cluster (if owned), create the database, migrate, print status").set_defaults(func=cmd_db_up)
    dbs.add_parser("down", help="stop the embedded cluster").set_defaults(func=cmd_db_down)
    dbs.add_parser("status", help="one-line status; exit 1 if down or migrations pending").set_defaults(func=cmd_db_status)
    m = dbs.add_parser("migrate", help="apply pending migrations and changed definitions (one transaction)")
    m.add_argument("--create-database", action="store_true",
                   help="create MILKBOT_DB_NAME first if it is missing (the systemd migrate unit does)")
    m.set_defaults(func=cmd_db_migrate)
    b = dbs.add_parser("backup", help="pg_dump into a folder (with every table's row count); prune old dumps")
    b.add_argument("--to", required=True, help="folder for the dumps")
    b.add_argument("--keep-days", type=int, default=None, help="remove dumps older than this (the newest stays)")
    b.set_defaults(func=cmd_db_backup)
    r = dbs.add_parser("restore", help="restore a dump into a NEW database and check every table's row count")
    r.add_argument("dump")
    r.add_argument("--into", required=True, help="name of the database to create")
    r.set_defaults(func=cmd_db_restore)
    u = dbs.add_parser("url", help="libpq URL for a role (default: the operator)")
    u.add_argument("--role", default="milkbot_operator")
    u.add_argument("--reveal", action="store_true", help="print the password too, if the URL has one")
    u.set_defaults(func=cmd_db_url)
    q = dbs.add_parser("psql", help="psql as the operator (extra args go to psql)")
    q.add_argument("--role", default="milkbot_operator")
    q.add_argument("psql_args", nargs=argparse.REMAINDER)
    q.set_defaults(func=cmd_db_psql)

    ing = sub.add_parser("ingest", help="pull NWS and Kalshi market data into ops, then run the SQL trading cycle")
    ing.add_argument("--once", action="store_true", help="one pass, then exit (non-zero if any request failed)")
    ing.add_argument("--interval", type=float, default=300.0, help="seconds between passes (default 300)")
    ing.set_defaults(func=cmd_ingest)

    fd = sub.add_parser("feed", help="Kalshi's WebSocket market feed into the tape and the live book (runs until stopped)")
    fd.set_defaults(func=cmd_feed)

    tp = sub.add_parser("tape", help="the recorded market tape (WebSocket books and trades)")
    tps = tp.add_subparsers(dest="tape_cmd", required=True)
    te = tps.add_parser("export", help="candles, quotes and ticks of days FROM..TO (UTC, inclusive) as CSV into DIR")
    te.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    te.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    te.add_argument("dir")
    te.set_defaults(func=cmd_tape_export)

    ex = sub.add_parser("execute", help="send queued order intents to the exchange (paper by default) and reconcile")
    ex.add_argument("--once", action="store_true", help="drain the queue once, reconcile, exit")
    ex.set_defaults(func=cmd_execute)

    an = sub.add_parser("analytics", help="dbt build of the rollups and public metric views")
    an.add_argument("--interval", type=float, default=None,
                    help="rebuild every this many seconds until stopped (default: build once)")
    an.set_defaults(func=cmd_analytics)

    upp = sub.add_parser("up", help="run the whole system in the foreground (database, ingest+cycle, executor, API)")
    upp.add_argument("--sim", action="store_true", help="against the local fakes of NWS and Kalshi (offline demo, paper mode)")
    upp.set_defaults(func=cmd_up)

    ap = sub.add_parser("api", help="the Analytics API: PostgREST on 127.0.0.1 and nginx /v1/ on 127.0.0.1:MILKBOT_API_PORT")
    ap.set_defaults(func=cmd_api)

    dp = sub.add_parser("dashboard", help="the public Streamlit dashboard on 127.0.0.1:MILKBOT_DASHBOARD_PORT (reads MILKBOT_PUBLIC_API_URL)")
    dp.add_argument("--port", type=int, default=None, help="port (default MILKBOT_DASHBOARD_PORT or 8501)")
    dp.set_defaults(func=cmd_dashboard)

    ed = sub.add_parser("edge", help="the public nginx (Cloudflare in front): render, check (nginx -t), refresh-ips")
    ed.add_argument("edge_cmd", choices=["render", "check", "refresh-ips"])
    ed.add_argument("--out", default=None, help="folder for nginx.conf and its state (default MILKBOT_EDGE_DIR or .milkbot/edge)")
    ed.set_defaults(func=cmd_edge)

    ins = sub.add_parser("install", help="systemd units, firewall and configs for a Debian 12 server (deploy/README.md)")
    dest = ins.add_mutually_exclusive_group(required=True)
    dest.add_argument("--print", action="store_true", help="write every file to stdout for review")
    dest.add_argument("--out", help="write the files under this folder (/ installs them)")
    ins.add_argument("--ssh-from", action="append", default=[], metavar="CIDR",
                     help="operator range allowed to SSH in (repeatable; or MILKBOT_OPERATOR_SSH_FROM=a,b)")
    ins.add_argument("--ssh-port", type=int, default=22)
    ins.add_argument("--server-name", default=None, help="the public host name (default MILKBOT_EDGE_SERVER_NAME)")
    ins.add_argument("--mode", choices=["paper", "demo", "live"], default=None, help="default MILKBOT_MODE")
    ins.add_argument("--prefix", default=None, help="where the set-up checkout lives on the server (default: this one)")
    ins.add_argument("--operator-user", default="root", help="OS user mapped to the milkbot_operator role")
    ins.add_argument("--external-db", action="store_true", help="a managed database: no postgres or backup unit")
    ins.add_argument("--origin-pull", action="store_true", help="require Cloudflare's client certificate (authenticated origin pulls)")
    ins.add_argument("--keep-days", type=int, default=14, help="days of backups kept on the host")
    ins.set_defaults(func=cmd_install)

    xp = sub.add_parser("explain", help="why a market was traded or not: its newest recorded decision in plain words")
    xp.add_argument("ticker", help="the market's ticker, e.g. KXHIGHNY-26DEC07-B45.5")
    xp.add_argument("--at", help="the newest decision at or before this instant (ISO 8601 with a zone)")
    xp.add_argument("--prose", action="store_true",
                    help="have an LLM (OpenRouter, MILKBOT_OPENROUTER_API_KEY) rephrase the page for a non-specialist; "
                         "only the page goes out, nothing comes back into any decision; the plain page on any failure")
    xp.set_defaults(func=cmd_explain)
    cr = sub.add_parser("cli-report", help="parse saved NWS CLI bulletins (text or /products/{id} JSON)")
    cr.add_argument("files", nargs="+")
    cr.set_defaults(func=cmd_cli_report)

    bt = sub.add_parser("backtest", help="replay the live model's SQL day-ahead over forecast/outcome history (scratch database)")
    bt.add_argument("--history", required=True, help="folder with forecasts.csv and truth.csv (schema of ../shared/data/history)")
    bt.add_argument("--train", help="warm-up folder of the same schema: loaded, known in time order, not scored")
    bt.add_argument("--from", dest="start", help="first target date scored (YYYY-MM-DD)")
    bt.add_argument("--to", dest="end", help="last target date scored (YYYY-MM-DD)")
    bt.add_argument("--out", help="CSV, one row per city x kind x date; charts are written next to it")
    bt.add_argument("--json", action="store_true", help="print the scores as JSON")
    bt.add_argument("--decisions", default="midnight",
                    help="decision times to replay, comma-separated: open (D-1 10:00 LST), evening (D-1 18:00), "
                         "midnight (D 00:00, the default), morning (D 08:00)")
    bt.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a model parameter in the scratch database (e.g. model_t_df=0 for a normal)")
    bt.add_argument("--prices", help="folder of recorded prices (*markets*.csv + *candles*.csv, the format of "
                                     "../shared/data/prices, and/or the *quotes*.csv + *ticks*.csv of `milkbot tape export`, or third-party "
                                     "top-of-book ticks timestamp,market_ticker,best_yes_bid,best_no_bid,...): "
                                     "replay the live cycle, executor and paper fills over them "
                                     "(decisions default to all four) and score model, market and P&L")
    bt.add_argument("--half-spread-cents", type=int, default=1,
                    help="--prices: the quote priced on is the last trade -/+ this (the recording has no book)")
    bt.add_argument("--quote-age-min", type=int, default=60,
                    help="--prices: a last trade up to this old stands for the quote (max_quote_age_min in the replay)")
    bt.add_argument("--every", type=int, metavar="MIN",
                    help="--prices: also run the cycle every MIN minutes while the markets are open (the live sweep runs every 5)")
    bt.add_argument("--tick-tz", metavar="ZONE",
                    help="--prices: the time zone of third-party top-of-book ticks whose timestamps carry no offset")
    bt.add_argument("--tick-units", choices=["cents", "dollars"], default="cents",
                    help="--prices: the unit of best_yes_bid/best_no_bid in third-party top-of-book ticks (default cents)")
    bt.add_argument("--assume-size", type=int, metavar="N",
                    help="--prices: top-of-book ticks without sizes: assume N contracts at every best bid (a stated guess)")
    bt.add_argument("-v", "--verbose", action="store_true", help="--prices: a line per decision time")
    bt.set_defaults(func=cmd_backtest)

    sim = sub.add_parser("sim", help="local fakes of the NWS and Kalshi APIs")
    sims = sim.add_subparsers(dest="sim_command", required=True)
    sv = sims.add_parser("serve", help="start both fakes on 127.0.0.1 and print their URLs")
    sv.add_argument("--nws-port", type=int, default=0)
    sv.add_argument("--kalshi-port", type=int, default=0)
    sv.set_defaults(func=cmd_sim_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and getattr(args, "func", None) is not cmd_db_psql:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.psql_args = [*unknown, *args.psql_args]
    try:
        return args.func(args) or 0
    except (ClusterError, MigrationError) as exc:
        print(f"milkbot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
