"""Fixtures for the access tests (Host allow-list, read/write tokens)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
