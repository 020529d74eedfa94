"""The logs Milkbot writes stay bounded while its processes run (issue 26 §4).

A log over its limit is copied to `<name>.1` (replacing the previous one) and truncated in place
("copytruncate"): every writer here opens its log for appending (nginx's error log, PostgREST's and
Streamlit's stderr files, the server log pg_ctl writes), so its next line lands at the start of the
emptied file and no process needs a signal. At most the lines written between the copy and the
truncation are lost. Postgres's own hourly files truncate themselves (milkbot/cluster.py), and a
deployment's services log to the journal, which journald bounds."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

LOG_KEEP_BYTES = 10 * 1024 * 1024


def keep(paths, max_bytes: int = LOG_KEEP_BYTES) -> list[Path]:
    """Rotate every log in `paths` that is over `max_bytes`; returns the ones rotated. A log that cannot
    be rotated (a full disk, a permission) is named on stderr and left whole — the log is only truncated
    once its copy is complete — and the others are still rotated: keeping logs never stops the system."""
    rotated = []
    for path in map(Path, paths):
        try:
            if path.stat().st_size <= max_bytes:
                continue
            shutil.copyfile(path, path.with_name(path.name + ".1"))
            with open(path, "r+b") as f:
                f.truncate(0)
        except FileNotFoundError:
            continue
        except OSError as exc:
            print(f"logs: could not rotate {path}: {exc.strerror or type(exc).__name__}", file=sys.stderr, flush=True)
            continue
        rotated.append(path)
    return rotated


def logs_of(settings) -> list[Path]:
    """The logs `milkbot up` and its children write."""
    from .cluster import server_state_dir
    api = server_state_dir(settings) / "api"
    return [api / "postgrest.log", api / "nginx-error.log", settings.state_dir / "dashboard.log",
            settings.state_dir / "log" / "postgres.log"]
