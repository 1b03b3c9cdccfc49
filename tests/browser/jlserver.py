"""Start and stop a throw-away JupyterLab server for the browser tests (all state in one temp dir)."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

# Lab user settings written into the server's own settings dir (plugin id -> values).
TEST_SETTINGS: dict[str, dict] = {
    # no news / update toasts covering click targets
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # start the kernel without the 'Select Kernel' dialog; render every cell, also off-screen ones
    # (the default 'contentVisibility' windowing never makes off-screen outputs visible)
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    # never write the notebook under test back to disk
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


@dataclasses.dataclass
class LabServer:
    """A running server: `url` + `token` to log in, `root` the folder it serves, `log` its output."""

    proc: subprocess.Popen
    url: str
    token: str
    root: pathlib.Path
    log: pathlib.Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a test kernel: ours, minus MPLBACKEND, plus RLKIT_FAST=1.

    MPLBACKEND=Agg (set for the test process) would stop ipykernel from choosing the inline
    backend, so notebooks would show no figures; kernels should behave as for a user.
    """
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.setdefault("RLKIT_FAST", "1")  # notebooks shrink their step counts
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy warning at kernel start
    env.update(extra or {})
    return env


def start_lab(
    root_dir: str | os.PathLike,
    state_dir: str | os.PathLike,
    *,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 60,
    settings: dict[str, dict] | None = TEST_SETTINGS,
) -> LabServer:
    """Start `python -m jupyterlab` on a free port, serving `root_dir`; wait until /api/status answers.

    The server (and so its kernels) runs with this interpreter, `sys.executable`: the project venv.
    Config, runtime, workspaces and user settings live under `state_dir`, so nothing from `~` leaks
    in (no restored tabs from an earlier run) and nothing is written there.
    """
    root_dir, state_dir = pathlib.Path(root_dir), pathlib.Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    for plugin, values in (settings or {}).items():
        f = state_dir / "user-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",  # fresh: no layout restore
        f"--LabApp.user_settings_dir={state_dir / 'user-settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),  # CI runs as root
        *extra_args,
    ]
    env = dict(kernel_env() if env is None else env)
    env.update(
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),  # ignore the user's jupyter_server_config.py
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        IPYTHONDIR=str(state_dir / "ipython"),  # ignore the user's IPython startup files
    )
    log_path = state_dir / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed in stop_lab)
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        cwd=root_dir, start_new_session=True,  # detached from the test's terminal and its signals
    )
    proc._rlkit_log = log  # type: ignore[attr-defined]
    server = LabServer(proc=proc, url=f"http://127.0.0.1:{port}", token=token, root=root_dir, log=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop_lab(server)
            raise RuntimeError(
                f"jupyter lab exited with code {proc.returncode} before answering; its log:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            req = urllib.request.Request(f"{server.url}/api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop_lab(server)
    raise TimeoutError(f"jupyter lab did not answer /api/status within {timeout} s; see {log_path}")


def _api(server: LabServer, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{server.url}{path}", method=method,
                                 headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def shutdown_sessions(server: LabServer) -> None:
    """Shut down every notebook session (and its kernel), so each test starts with none running."""
    if server.proc.poll() is not None:
        return
    for session in _api(server, "/api/sessions") or []:
        try:
            _api(server, f"/api/sessions/{session['id']}", method="DELETE")
        except OSError:  # already gone
            pass


def _children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (Linux /proc; [] elsewhere)."""
    kids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # comm may contain spaces
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields: state, ppid, ...
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_lab(server: LabServer, grace: float = 15) -> int | None:
    """SIGTERM the server (it shuts its kernels down), then make sure the kernels are gone too.

    Kernels run in their own session (jupyter_client starts them with start_new_session=True), so
    killing the server's process group would miss them: record their PIDs first, then reap.
    """
    proc = server.proc
    kernels = _children(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = getattr(proc, "_rlkit_log", None)
    if log is not None:
        log.close()
    deadline = time.monotonic() + 5
    for pid in kernels:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return proc.returncode
