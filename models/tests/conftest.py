"""Puts models/ on sys.path so the tests import florence2_tools without installing it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
