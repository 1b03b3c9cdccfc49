"""Real-browser tests: JupyterLab 4 in headless Chromium (fixtures in conftest.py, helpers in lab.py)."""
