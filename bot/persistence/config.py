"""Which tracker and lock store to use, read from the environment when a store is created: the
single place that names TRACKER_STORE_URL, LOCK_STORE_URL and their settings."""

from __future__ import annotations

import os
from typing import Optional, Tuple

from bot import settings

TRACKER_STORE_URL_ENV = "TRACKER_STORE_URL"
LOCK_STORE_URL_ENV = "LOCK_STORE_URL"
LOCK_STORE_KEY_PREFIX_ENV = "LOCK_STORE_KEY_PREFIX"
DEFAULT_LOCK_KEY_PREFIX = "poreguide"
# Rasa's own variable names for the SQL pool. Our defaults are small: Rasa's tracker store makes
# blocking SQL calls on the event loop, so one process uses one connection at a time.
POOL_SIZE_ENV = "SQL_POOL_SIZE"
MAX_OVERFLOW_ENV = "SQL_MAX_OVERFLOW"
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 5


def _get(name: str) -> str:
    return os.environ.get(name, "").strip()


def normalise_sql_url(url: str) -> str:
    """SQLAlchemy 1.4 rejects the `postgres://` scheme that many hosting providers hand out."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url[len("postgres://") :]
    return url


def tracker_store_url() -> str:
    """TRACKER_STORE_URL, else DATABASE_URL, else the default SQLite file under var/."""
    return normalise_sql_url(_get(TRACKER_STORE_URL_ENV) or settings.database_url())


def lock_store_url() -> Optional[str]:
    """LOCK_STORE_URL (a redis:// URL), or None for the in-process lock store."""
    return _get(LOCK_STORE_URL_ENV) or None


def lock_key_prefix() -> str:
    """Prefix of the lock keys in Redis, so several deployments (or tests) can share one server."""
    return _get(LOCK_STORE_KEY_PREFIX_ENV) or DEFAULT_LOCK_KEY_PREFIX


def pool_limits() -> Tuple[int, int]:
    """(pool_size, max_overflow) of each Rasa process's PostgreSQL connection pool."""
    return (int(_get(POOL_SIZE_ENV) or DEFAULT_POOL_SIZE), int(_get(MAX_OVERFLOW_ENV) or DEFAULT_MAX_OVERFLOW))
