"""PoreGuide's one SQLAlchemy engine factory (`create_sql_engine`), used by the knowledge base,
consultation requests, staff notices, the staff page, the tracker store and the analytics report,
so every pool has the same settings; and one shared engine per URL for the repositories, created
on first use (never at import time)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from bot import settings
from bot.persistence.config import pool_limits

CONNECT_TIMEOUT_SECONDS = 3  # an unreachable server must fail within seconds: the patient gets an apology
SQLITE_BUSY_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10
POSTGRESQL_SCHEMA_ENV = "POSTGRESQL_SCHEMA"  # Rasa's own setting (rasa.core.constants), read here too

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: Optional[str] = None) -> Engine:
    """The shared engine for `url` (default: `settings.database_url()`), created on first call."""
    url = url or settings.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_sql_engine(url)
        return engine


class UsesDatabase:
    """Base for repositories: a given engine, or the shared default one created on first use."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine()
        return self._engine


def dispose_engines() -> None:
    """Close every pooled connection, e.g. between tests or before a fork."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def create_sql_engine(url: str) -> Engine:
    """A new engine for `url`. SQLite: a short busy timeout (a locked file fails fast and is
    reported, not a hung turn). PostgreSQL and MySQL: a small pre-pinged pool of SQL_POOL_SIZE +
    SQL_MAX_OVERFLOW connections (deploy/README.md has the sizing rule), a connect timeout of a few
    seconds, and Rasa's POSTGRESQL_SCHEMA honoured as the search path."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    connect_args: Dict[str, Any] = {}
    if backend in ("postgresql", "mysql"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    schema = os.environ.get(POSTGRESQL_SCHEMA_ENV, "").strip()
    if schema and backend == "postgresql":
        connect_args["options"] = f"-csearch_path={schema}"
    pool_size, max_overflow = pool_limits()
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
    )
