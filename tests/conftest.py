"""Suite-wide pytest settings: markers and test-process defaults only (fixtures live next to their tests)."""

from __future__ import annotations

import os

# Plots made in the test process never need a display (scripts/dev.sh sets it too).
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    # Also declared in pyproject.toml; repeated so `--strict-markers` works from any rootdir.
    config.addinivalue_line("markers", "slow: long learning runs (deselected by default with -m 'not slow')")
    config.addinivalue_line("markers", "browser: real JupyterLab 4 in headless Chromium via Playwright")
