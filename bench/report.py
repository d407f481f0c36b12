"""How every benchmark ends: an aligned table for people, then one JSON line for machines."""

from __future__ import annotations

import json
from typing import Any


def print_summary(summary: dict[str, Any]) -> None:
    width = max(map(len, summary))
    for key, value in summary.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(summary))
