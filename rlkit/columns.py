"""`Columns`: the one vocabulary for batch keys, forward outputs and DataFrame columns."""

from __future__ import annotations


class Columns:
    """String constants naming every key that flows through rlkit.

    The same word names a batch key, a forward output and a DataFrame column, so
    ``batch[Columns.OBS]``, ``out[Columns.VF_PREDS]`` and ``df[Columns.REWARDS]`` all mean
    what they say. Values match Ray RLlib's ``Columns`` so code ports with its imports only.

    Example:
        >>> from rlkit import Columns
        >>> Columns.OBS, Columns.NEXT_OBS, Columns.ACTION_DIST_INPUTS
        ('obs', 'new_obs', 'action_dist_inputs')
    """

    # --- Environment data -------------------------------------------------------------
    OBS = "obs"  # observation the module acts on, (B, *obs_shape)
    ACTIONS = "actions"  # action sent to env.step, (B, *action_shape)
    REWARDS = "rewards"  # reward returned by env.step, (B,)
    TERMINATEDS = "terminateds"  # episode ended in a terminal state (no bootstrap), (B,)
    TRUNCATEDS = "truncateds"  # episode cut short by a time limit (bootstrap from value), (B,)
    NEXT_OBS = "new_obs"  # observation after the step, (B, *obs_shape)
    INFOS = "infos"  # the env's info dicts
    EPS_ID = "eps_id"  # episode id, unique within a rollout, (B,)
    AGENT_ID = "agent_id"  # agent id in multi-agent envs
    MODULE_ID = "module_id"  # id of the module that acted for this agent
    T = "t"  # time step within the episode, starting at 0, (B,)
    SEQ_LENS = "seq_lens"  # lengths of the sequences in a recurrent (B, T) batch, (B,)
    ACTION_MASK = "action_mask"  # 1/True = action allowed, (B, n_actions)

    # --- Recurrent state ---------------------------------------------------------------
    STATE_IN = "state_in"  # recurrent state fed into the forward pass, dict of (B, ...)
    STATE_OUT = "state_out"  # recurrent state produced by the forward pass, dict of (B, ...)

    # --- Forward outputs ---------------------------------------------------------------
    EMBEDDINGS = "embeddings"  # encoder output the heads read, (B, d)
    ACTION_DIST_INPUTS = "action_dist_inputs"  # logits / mean+log_std of the action distribution
    ACTION_PROB = "action_prob"  # probability (density) of the taken action, (B,)
    ACTION_LOGP = "action_logp"  # log-probability of the taken action, (B,)
    VF_PREDS = "vf_preds"  # value-function prediction V(s), (B,)

    # --- Recorded by rollouts (derived from the forward outputs) -----------------------
    ENTROPY = "entropy"  # entropy of the action distribution, (B,)
    GREEDY_ACTIONS = "greedy_actions"  # mode of the action distribution, (B, *action_shape)
    ENV_INDEX = "env_index"  # which sub-env of a vector env the step came from, (B,)
    FRAME_INDEX = "frame_index"  # row of rollout.frames showing the step's state, (B,)
    RETURNS_TO_GO = "returns_to_go"  # discounted reward-to-go within the episode, (B,)

    # --- Learner targets ---------------------------------------------------------------
    VALUES_BOOTSTRAPPED = "values_bootstrapped"  # V(s) with V(s_T) bootstrapped at truncation
    ADVANTAGES = "advantages"  # GAE advantages A_t, (B,)
    VALUE_TARGETS = "value_targets"  # return targets for the value loss, A_t + V(s_t), (B,)
    LOSS_MASK = "loss_mask"  # 1 where a (padded) time step counts in the loss, (B, T)
