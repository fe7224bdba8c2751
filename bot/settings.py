"""Where PoreGuide finds its files and services; every path and URL is read here, lazily."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_KNOWLEDGE_FILE = PROJECT_ROOT / "bot" / "knowledge" / "treatments.yml"
SPACY_PIPELINE_DIR = VAR_DIR / "spacy" / "poreguide_en"
VOCABULARY_TRAINING_FILE = PROJECT_ROOT / "data" / "vocabulary.yml"
TRAINED_MODEL = PROJECT_ROOT / "models" / "poreguide.tar.gz"  # what `make train` writes


def knowledge_file() -> Path:
    """The knowledge base file; `POREGUIDE_KNOWLEDGE` lets a clinic keep its own copy elsewhere."""
    return Path(os.environ.get("POREGUIDE_KNOWLEDGE", str(DEFAULT_KNOWLEDGE_FILE)))


def database_url() -> str:
    """`DATABASE_URL`, defaulting to a SQLite file under the git-ignored `var/`."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or f"sqlite:///{VAR_DIR / 'poreguide.db'}"


def load_dotenv(path: Path = PROJECT_ROOT / ".env") -> None:
    """KEY=VALUE lines of `.env` (if any) into the environment; variables already set win."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


def environment(env: Optional[Mapping[str, str]] = None) -> Mapping[str, str]:
    """`env` if given (tests, a settings check), else the process's environment: what every
    settings reader (`from_env(env=None)`) reads its variables from."""
    return os.environ if env is None else env
