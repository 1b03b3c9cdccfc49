"""RolloutViewer in a real ipykernel: slider updates sent as the browser sends them (comm messages)
are coalesced when drawing lags, and the worker thread's updates reach the frontend."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")

SETUP = r"""
import json, time
import gymnasium as gym, numpy as np
from rlkit import RLModuleSpec, Columns
from rlkit.rollouts import rollout
from rlkit.widgets import RolloutViewer
env = gym.make("CartPole-v1")
module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
run = rollout(module, env, num_steps=120, seed=0)
viewer = RolloutViewer(run)
viewer.episode = max(viewer._track(None).episodes.values(), key=lambda e: e.length).id
render = viewer._latest._render
def slow(key):  # a module / pane slower than the play interval
    time.sleep(0.04)
    render(key)
viewer._latest._render = slow
print(json.dumps({"slider": viewer.slider.comm.comm_id, "readouts": viewer.readout_html.comm.comm_id,
                  "n": viewer.slider.max + 1, "rendered": viewer._latest.rendered}))
"""


def _run(kc, code: str, comms: list, timeout: float = 120) -> str:
    """Execute ``code``; return its stdout. Every comm message seen on the way lands in ``comms``."""
    msg_id = kc.execute(code)
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["msg_type"] == "comm_msg":
            comms.append(msg["content"])
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)
    raise TimeoutError(code)


def test_play_messages_are_coalesced_and_the_last_step_is_drawn(tmp_path):
    import os

    env = dict(os.environ, MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1",
               IPYTHONDIR=str(tmp_path / "ipython"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        comms: list = []
        info = json.loads(_run(kc, SETUP, comms).strip().splitlines()[-1])
        last = min(info["n"] - 1, 30)
        assert last >= 10, "need an episode of at least 11 steps"
        comms.clear()
        for k in range(1, last + 1):  # a Play running at 5 ms per step, as comm messages
            kc.shell_channel.send(kc.session.msg("comm_msg", {
                "comm_id": info["slider"], "data": {"method": "update", "state": {"value": k}, "buffer_paths": []}}))
            time.sleep(0.005)
        result = json.loads(_run(kc, "viewer.wait(30)\nprint(json.dumps({'step': viewer.step, "
                                     "'rendered': viewer._latest.rendered, 'dropped': viewer._latest.dropped, "
                                     "'errors': viewer.errors}))", comms).strip().splitlines()[-1])
        sent = [c["data"]["state"].get("value", "") for c in comms
                if c["comm_id"] == info["readouts"] and c["data"].get("method") == "update"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert result["step"] == last and result["errors"] == {}
    drawn = result["rendered"] - info["rendered"]
    assert 1 <= drawn < last, f"{drawn} renders for {last} steps: the kernel drew stale steps"
    assert result["dropped"] >= 1
    assert sent and f"step {last} of" in sent[-1], "the worker's last readouts never reached the frontend"
