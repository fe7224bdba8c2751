"""What the figures were measured on: they only compare within one run on one machine."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional


def _memory_gib() -> Optional[float]:
    try:
        line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        return None
    return round(int(line.split()[1]) / 1024**2, 1)


def describe() -> Dict[str, Any]:
    import rasa

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "rasa": rasa.__version__,
        "platform": platform.platform(),
        "memory_gib": _memory_gib(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
