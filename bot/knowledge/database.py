"""Creates SQLAlchemy engines on first use (never at import time) and shares one per URL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, Optional

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from bot import settings

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: Optional[str] = None) -> Engine:
    """The shared engine for `url` (default: `settings.database_url()`), created on first call."""
    url = url or settings.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
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


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Short busy timeout: a locked file should fail fast and be reported, not hang a turn.
        return create_engine(url, future=True, connect_args={"timeout": 5})
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args=_connect_timeout(parsed.get_backend_name()),
    )


def _connect_timeout(backend: str) -> Dict[str, int]:
    """An unreachable server must fail within seconds so the user gets an apology quickly."""
    return {"connect_timeout": 3} if backend in ("postgresql", "mysql") else {}
