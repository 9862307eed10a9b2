"""What the benchmark scripts share: their throw-away PostgreSQL database, a free loopback
port, waiting for a server they started, and writing their JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def empty_database(url: str) -> None:
    """Drop everything in a PostgreSQL database whose name says it is for benchmarks or tests
    (SQLite files are made fresh by the scripts themselves)."""
    if not url.startswith("postgresql"):
        return
    name = sa.make_url(url).database or ""
    if "bench" not in name and "test" not in name:
        sys.exit(f"refusing to empty {name}: use a database named *bench* or *test*")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def free_port() -> int:
    """A TCP port nothing listens on, on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``url`` answers 200, or stop the script if ``server`` exits or is too slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped before {url} answered: see its log")
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, or still starting
            time.sleep(0.3)
    sys.exit(f"{url} did not answer in time")


def analyze(url: str) -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum would."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()


def write_result(
    path: str | Path,
    benchmark: str,
    data: dict[str, Any],
    figures: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """Write a script's result in the runner's format (``benchmarks/README.md``):
    ``{"benchmark", "data", "figures"}`` plus any ``extra`` keys; returns it."""
    result = {"benchmark": benchmark, "data": data, "figures": figures, **extra}
    Path(path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result
