"""`GridChase`: a small two-agent PettingZoo ParallelEnv shipped for examples and tests.

A chaser and a runner move on an ``size x size`` grid at the same time. The chaser is
rewarded for catching the runner (landing on its cell, or the two swapping cells), the
runner for staying free: zero-sum, +1 / -1 at the catch, and a small time reward for the
runner of ``+1 / max_steps`` per step (the chaser gets its negative). A catch terminates
the episode; after ``max_steps`` steps it is truncated.

Observations (Box(-1, 1, (6,), float32), the same layout for both agents): own position,
the other's position (both scaled to [-1, 1]), and the offset to the other agent.
Actions: Discrete(5) = stay, up, down, left, right. ``render_mode="rgb_array"`` renders
``(size * 16, size * 16, 3)`` uint8 frames (chaser red, runner blue).

Example:
    >>> env = GridChase(seed=None)
    >>> obs, infos = env.reset(seed=0)
    >>> sorted(obs), obs["chaser"].shape, env.action_space("runner")
    (['chaser', 'runner'], (6,), Discrete(5))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["GridChase"]

_MOVES = np.array([[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]])  # stay, up, down, left, right (dx, dy)
_CELL = 16


def _parallel_base() -> type:
    try:
        from pettingzoo import ParallelEnv
    except ImportError:  # pettingzoo is an optional dependency; the env works without it
        return object
    return ParallelEnv


class GridChase(_parallel_base()):  # type: ignore[misc]
    """Two agents, ``"chaser"`` and ``"runner"``, on a grid (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "name": "grid_chase_v0", "is_parallelizable": True, "render_fps": 5}

    def __init__(self, size: int = 5, max_steps: int = 25, render_mode: str | None = None, seed: int | None = None) -> None:
        if size < 2:
            raise ValueError(f"GridChase needs size >= 2, got {size}.")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"GridChase renders render_mode='rgb_array' only, got {render_mode!r}.")
        self.size = int(size)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.possible_agents = ["chaser", "runner"]
        self.agents: list[str] = []
        self._obs_space = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)
        self._act_space = gym.spaces.Discrete(5)
        self._rng = np.random.default_rng(seed)
        self._pos = np.zeros((2, 2), dtype=np.int64)  # (agent, xy)
        self._steps = 0

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> gym.spaces.Discrete:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        # Two cells at least size - 1 apart (Manhattan), so no episode is over at the first move.
        while True:
            cells = self._rng.choice(self.size * self.size, size=2, replace=False)
            pos = np.stack([cells % self.size, cells // self.size], axis=1)  # (2, xy)
            if np.abs(pos[0] - pos[1]).sum() >= self.size - 1:
                break
        self._pos = pos
        self._steps = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("GridChase.step() called after the episode ended; call reset() first.")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise KeyError(f"GridChase.step() needs an action for every agent, missing {missing}.")
        before = self._pos.copy()
        for i, agent in enumerate(self.possible_agents):
            move = _MOVES[int(actions[agent])]
            self._pos[i] = np.clip(self._pos[i] + move, 0, self.size - 1)  # walls stop moves
        self._steps += 1
        same_cell = bool((self._pos[0] == self._pos[1]).all())
        swapped = bool((self._pos[0] == before[1]).all() and (self._pos[1] == before[0]).all())
        caught = same_cell or swapped
        timeout = not caught and self._steps >= self.max_steps
        tick = 1.0 / self.max_steps
        r = 1.0 if caught else -tick  # chaser's reward; the runner gets the opposite
        rewards = {"chaser": r, "runner": -r}
        terminations = {a: caught for a in self.agents}
        truncations = {a: timeout for a in self.agents}
        obs = self._observations()
        infos = {a: {"caught": caught} for a in self.agents}
        if caught or timeout:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, np.ndarray]:
        scaled = self._pos / (self.size - 1) * 2.0 - 1.0  # (2, xy) in [-1, 1]
        out = {}
        for i, agent in enumerate(self.possible_agents):
            other = scaled[1 - i]
            offset = (other - scaled[i]) / 2.0  # in [-1, 1]
            out[agent] = np.concatenate([scaled[i], other, offset]).astype(np.float32)
        return out

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("GridChase.render() called without render_mode='rgb_array'.")
            return None
        side = self.size * _CELL
        frame = np.full((side, side, 3), 235, dtype=np.uint8)
        frame[::_CELL, :, :] = 200  # grid lines
        frame[:, ::_CELL, :] = 200
        for (x, y), colour in zip(self._pos, ((220, 50, 47), (38, 139, 210))):
            y0, x0 = y * _CELL + 3, x * _CELL + 3
            frame[y0 : y0 + _CELL - 6, x0 : x0 + _CELL - 6] = colour
        return frame

    def close(self) -> None:
        pass

    def state(self) -> np.ndarray:
        return self._pos.astype(np.float32).ravel()
