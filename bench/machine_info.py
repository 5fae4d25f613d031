"""What every benchmark prints about the machine it ran on."""

from __future__ import annotations

import os
import platform
import sys


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews timings
    }
