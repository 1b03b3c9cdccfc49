"""rlkit.plots: pure functions draw the recorded numbers (read back from the artists), any input kind."""

from __future__ import annotations

import os
import pathlib

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from rlkit import Columns, RLModuleSpec
from rlkit.plots import (
    explained_variance,
    plot_action_distribution,
    plot_action_probs,
    plot_episode_timeline,
    plot_training_history,
    plot_value_vs_return,
)
from rlkit.rollouts import rollout

REPO = pathlib.Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / os.environ.get("BROWSER_ARTIFACTS", "browser-artifacts") / "plots"


def _axes():
    return Figure(figsize=(6, 3), dpi=80).add_subplot()


def _save(ax, name: str) -> None:
    """Keep a PNG of every plot for a human to look at (in the artifacts folder CI keeps)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ax.figure.savefig(ARTIFACTS / name)


@pytest.fixture(scope="module")
def cartpole():
    env = gym.make("CartPole-v1")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    return rollout(module, env, num_steps=120, seed=3)


@pytest.fixture(scope="module")
def pendulum():
    env = gym.make("Pendulum-v1")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    return rollout(module, env, num_steps=40, seed=0)


def _first_episode_rows(r):
    eps = r[Columns.EPS_ID]
    rows = np.flatnonzero(eps == eps[0])
    return rows[np.argsort(r[Columns.T][rows])]


# ------------------------------------------------------------------ timeline


def test_timeline_draws_value_return_reward_advantage_of_the_episode(cartpole):
    rows = _first_episode_rows(cartpole)
    ax = plot_episode_timeline(cartpole, _axes(), episode=int(cartpole[Columns.EPS_ID][0]), gamma=0.9, lambda_=0.8, step=3)
    value, ret = ax.lines[0], ax.lines[1]
    np.testing.assert_allclose(value.get_ydata(), cartpole[Columns.VF_PREDS][rows], rtol=1e-6)
    np.testing.assert_allclose(ret.get_ydata(), cartpole.returns(0.9)[rows], rtol=1e-6)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_allclose(twin.lines[0].get_ydata(), cartpole[Columns.REWARDS][rows])
    np.testing.assert_allclose(twin.lines[1].get_ydata(), cartpole.advantages(0.9, 0.8)[rows], rtol=1e-5)
    cursor = [line for line in ax.lines if line.get_visible() and len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]]
    assert cursor and cursor[-1].get_xdata()[0] == 3.0
    _save(ax, "timeline.png")


def test_timeline_from_a_plain_dict_computes_returns_and_advantages():
    data = {"rewards": np.array([1.0, 0.0, 2.0]), "vf_preds": np.array([0.5, 1.0, 1.5]),
            "terminateds": np.array([False, False, True])}
    ax = plot_episode_timeline(data, _axes(), gamma=0.5, lambda_=1.0)
    # G = [1 + .5*0 + .25*2, 0 + .5*2, 2] ; A = G - V with lambda = 1 and a terminal end
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.5, 1.0, 2.0])
    twin = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_allclose(twin.lines[1].get_ydata(), [1.0, 0.0, 0.5])


def test_timeline_errors_name_the_problem(cartpole):
    with pytest.raises(ValueError, match=r"episode 'nope' is not in the data; episodes there: \[0, 1"):
        plot_episode_timeline(cartpole, _axes(), episode="nope")
    with pytest.raises(IndexError, match=r"expected 0 <= step < "):
        plot_episode_timeline(cartpole, _axes(), episode=0, step=10_000)
    with pytest.raises(TypeError, match="expected a Rollout, a pandas DataFrame or a dict"):
        plot_episode_timeline("CartPole-v1")


def test_timeline_from_a_dataframe_matches_the_rollout(cartpole):
    df = cartpole.to_dataframe()
    ax = plot_episode_timeline(df, _axes(), episode=1, gamma=0.99)
    rows = np.flatnonzero(cartpole[Columns.EPS_ID] == 1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cartpole[Columns.VF_PREDS][rows], rtol=1e-6)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), cartpole.returns(0.99)[rows], rtol=1e-5)


# ------------------------------------------------------------------ action distribution / probabilities


def test_action_distribution_bars_are_the_recorded_probabilities(cartpole):
    row = 5
    ax = plot_action_distribution(cartpole, _axes(), step=row)
    bars = [p for p in ax.patches if p.get_facecolor()[3] > 0 and p.get_width() == pytest.approx(0.8)]
    heights = [b.get_height() for b in bars]
    np.testing.assert_allclose(heights, cartpole["action_dist_probs"][row], rtol=1e-6)
    taken = int(cartpole[Columns.ACTIONS][row])
    assert matplotlib.colors.to_hex(bars[taken].get_facecolor()) == "#f58518"  # the taken action is orange
    greedy_marker = [line for line in ax.lines if line.get_marker() == "*"][0]
    assert greedy_marker.get_xdata()[0] == int(cartpole[Columns.GREEDY_ACTIONS][row])
    _save(ax, "action_distribution_discrete.png")


def test_action_distribution_gaussian_shows_mean_std_and_sample(pendulum):
    row = 7
    ax = plot_action_distribution(pendulum, _axes(), step=row)
    mean = [line for line in ax.lines if line.get_marker() == "_"][0]
    sample = [line for line in ax.lines if line.get_marker() == "o"][0]
    np.testing.assert_allclose(mean.get_ydata(), pendulum["action_dist_mean"][row].reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(sample.get_ydata(), pendulum[Columns.ACTIONS][row].reshape(-1), rtol=1e-6)
    seg = ax.collections[0].get_segments()[0]  # mean - std .. mean + std
    m, s = pendulum["action_dist_mean"][row][0], pendulum["action_dist_std"][row][0]
    np.testing.assert_allclose([seg[0][1], seg[1][1]], [m - s, m + s], rtol=1e-5)
    _save(ax, "action_distribution_gaussian.png")


def test_action_distribution_multidiscrete_groups_and_masks():
    from gymnasium.spaces import MultiDiscrete

    space = MultiDiscrete([3, 2])
    probs = np.array([[0.2, 0.5, 0.3, 0.9, 0.1]])
    data = {"actions": np.array([[2, 0]]), "action_dist_probs": probs, "action_mask": np.array([[1, 1, 0, 1, 1]])}
    ax = plot_action_distribution(data, _axes(), action_space=space)
    bars = [p for p in ax.patches if p.get_width() == pytest.approx(0.8)]
    np.testing.assert_allclose([b.get_height() for b in bars], probs[0])
    gap = bars[3].get_x() - bars[2].get_x()
    assert gap > 1.5  # a visible gap between the two components
    hatched = [p for p in ax.patches if p.get_hatch() == "///" and p.get_height() > 0]
    assert len(hatched) == 1 and hatched[0].get_x() == pytest.approx(bars[2].get_x() - 0.05)
    _save(ax, "action_distribution_multidiscrete.png")


def test_action_probs_heatmap_is_probs_over_time(cartpole):
    ax = plot_action_probs(cartpole, _axes(), episode=0)
    rows = _first_episode_rows(cartpole)
    np.testing.assert_allclose(ax.images[0].get_array(), cartpole["action_dist_probs"][rows].T, rtol=1e-6)
    dots = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(np.asarray(dots)[:, 1], cartpole[Columns.ACTIONS][rows])
    _save(ax, "action_probs.png")


def test_action_probs_gaussian_draws_mean_lines(pendulum):
    ax = plot_action_probs(pendulum, _axes())
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pendulum["action_dist_mean"][:, 0], rtol=1e-6)
    _save(ax, "action_probs_gaussian.png")


def test_unsupported_action_space_is_explained():
    data = {"actions": np.array(["a"]), "action_dist_inputs": np.zeros((1, 2))}
    with pytest.raises(ValueError, match=r"expected an action space rlkit can draw .* got Text\("):
        plot_action_distribution(data, _axes(), action_space=gym.spaces.Text(4))


# ------------------------------------------------------------------ value vs return


def test_value_vs_return_scatter_and_explained_variance(cartpole):
    ax = plot_value_vs_return(cartpole, _axes(), gamma=0.95)
    pts = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_allclose(pts[:, 0], cartpole.returns(0.95), rtol=1e-5)
    np.testing.assert_allclose(pts[:, 1], cartpole[Columns.VF_PREDS], rtol=1e-6)
    ev = explained_variance(cartpole[Columns.VF_PREDS].astype(np.float64), cartpole.returns(0.95).astype(np.float64))
    assert f"{ev:.3f}" in ax.get_title()
    _save(ax, "value_vs_return.png")


def test_explained_variance_reference_values():
    g = np.array([1.0, 2.0, 3.0])
    assert explained_variance(g, g) == 1.0
    assert explained_variance(np.full(3, 2.0), g) == pytest.approx(0.0)
    assert np.isnan(explained_variance(g, np.ones(3)))


# ------------------------------------------------------------------ training history


def test_training_history_from_rows_frame_and_dict():
    import pandas as pd

    rows = [{"env_steps": 1000 * (i + 1), "episode_return_mean": 10.0 * i, "episode_return_std": 1.0,
             "policy_loss": 0.1} for i in range(5)]
    for history in (rows, pd.DataFrame(rows), {k: [r[k] for r in rows] for k in rows[0]}):
        ax = plot_training_history(history, _axes())
        np.testing.assert_allclose(ax.lines[0].get_xdata(), [1000, 2000, 3000, 4000, 5000])
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 10, 20, 30, 40])
        assert len(ax.collections) == 1  # the +- std band
    ax = plot_training_history(rows, _axes(), metrics=["policy_loss"], x=None)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.1] * 5)
    _save(ax, "training_history.png")


def test_training_history_errors_list_the_columns():
    with pytest.raises(KeyError, match=r"expected metric\(s\) \['loss'\] in the history, got columns \['env_steps'"):
        plot_training_history([{"env_steps": 1, "x": 2.0}], _axes(), metrics="loss")
    with pytest.raises(TypeError, match="expected the learner's history"):
        plot_training_history(42, _axes())


def test_plots_without_ax_make_a_new_figure(cartpole):
    ax = plot_episode_timeline(cartpole, episode=0)
    assert ax.figure is not None and ax in ax.figure.axes
    import matplotlib.pyplot as plt

    plt.close("all")


def test_training_history_defaults_to_each_modules_return_in_multi_agent_runs():
    rows = [{"training_iteration": i, "chaser/episode_return_mean": float(i), "runner/episode_return_mean": -float(i),
             "chaser/policy_loss": 0.5} for i in range(1, 4)]
    ax = plot_training_history(rows, _axes())
    assert [line.get_label() for line in ax.lines] == ["chaser/episode_return_mean", "runner/episode_return_mean"]
    assert ax.get_xlabel() == "training_iteration"


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("rlkit.plots", "rlkit.plots.timeline", "rlkit.plots.action_distribution", "rlkit.plots.action_probs",
                 "rlkit.plots.value_vs_return", "rlkit.plots.training_history"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name
