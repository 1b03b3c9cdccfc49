"""Rich reprs of modules and specs: the expected parts, escaping, unique ids, no side effects."""

from __future__ import annotations

from html import unescape
import re
import subprocess
import sys

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit import Columns, MultiRLModule, MultiRLModuleSpec, RLModule, RLModuleSpec
from rlkit._anatomy import module_anatomy, shape_str
from rlkit.reprs import html_block, html_table, module_html, module_mimebundle, ok_mark, spec_mimebundle

CARTPOLE_OBS = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)


class MyModule(RLModule):
    """The reference page's custom module (shared encoder, two heads)."""

    def setup(self):
        obs_dim = self.observation_space.shape[0]
        self.encoder = nn.Sequential(nn.Linear(obs_dim, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
        self.policy_head = nn.Linear(128, self.action_space.n)
        self.value_head = nn.Linear(128, 1)

    def _forward(self, batch, **kwargs):
        h = self.encoder(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.policy_head(h), Columns.VF_PREDS: self.value_head(h).squeeze(-1)}


class Broken(RLModule):
    def setup(self):
        self.pi = nn.Linear(3, 2)  # wrong input width on purpose

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS])}


def default(**config):
    return RLModuleSpec(observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2),
                        model_config={"fcnet_hiddens": [32, 32], **config})


def ids_and_fors(html: str) -> tuple[list[str], list[str]]:
    return re.findall(r'\bid="([^"]+)"', html), re.findall(r'\bfor="([^"]+)"', html)


def test_module_repr_has_diagram_shapes_counts_and_sharing():
    module = default().build()
    bundle = module._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    html, text = bundle["text/html"], bundle["text/plain"]
    n = sum(p.numel() for p in module.parameters())
    for part in ("DefaultActorCritic", "encoder", "pi_head", "vf_head", "policy head", "value head",
                 "(B, 4)", "(B, 32)", "(B, 2)", "action_dist_inputs", "vf_preds", f"{n:,} params",
                 "Categorical for Discrete(2)", "inference_only=False", "shared", "critic-only"):
        assert part in html, part
    assert "'encoder' is shared" in text and f"{n:,} parameters" in text
    # the text fallback sits inside the HTML and the card is hidden until the styles apply
    assert 'class="rlkit-fallback"' in html and '<div class="rlkit-card" hidden>' in html


def test_separate_encoders_drawn_as_two_lanes():
    a = module_anatomy(default(vf_share_layers=False).build())
    roles = {p.name: p.role for p in a.parts}
    assert roles == {"encoder": "actor encoder", "pi_head": "policy head", "vf_encoder": "critic encoder",
                     "vf_head": "value head"}
    assert any("separate encoders" in note for note in a.shared)
    html = module_html(default(vf_share_layers=False).build())
    assert "actor / critic" in html and "critic encoder" in html


def test_recurrent_module_shows_state_and_badge():
    module = default(use_lstm=True, lstm_cell_size=16).build()
    a = module_anatomy(module)
    assert a.stateful and a.outputs["state_out"] == "{h, c}: (B, 16)"
    assert "recurrent" in module_mimebundle(module)["text/html"]


def test_training_status_shows_when_known():
    module = default().build()
    assert "trained" not in module_mimebundle(module)["text/plain"]
    module._rlkit_status = "trained: 20,000 env steps"  # what trainers / checkpoint loaders set
    bundle = module_mimebundle(module)
    assert "trained: 20,000 env steps" in bundle["text/plain"] and "trained: 20,000 env steps" in bundle["text/html"]


def test_inference_only_module():
    module = RLModuleSpec(observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2), inference_only=True).build()
    html = module_mimebundle(module)["text/html"]
    assert "inference-only" in html and "vf_head" not in html and "vf_preds" not in html


def test_custom_module_from_the_reference_page():
    module = MyModule(observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2))
    a = module_anatomy(module)
    assert [(p.name, p.role, p.out_shape) for p in a.parts] == [
        ("encoder", "encoder", "(B, 128)"), ("policy_head", "policy head", "(B, 2)"), ("value_head", "value head", "(B, 1)")]
    assert a.parts[0].feeds == ["policy_head", "value_head"]
    assert a.n_params == sum(p.numel() for p in module.parameters())
    assert [r.name for r in a.layers][:3] == ["encoder", "encoder.0", "encoder.1"]
    assert a.layers[1].out_shape == "(B, 128)" and a.layers[1].n_params == 4 * 128 + 128


def test_names_are_escaped():
    evil = type("<script>alert(1)</script>", (MyModule,), {})
    module = evil(observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2))
    multi = MultiRLModule({"<b>bold</b>": module})
    for html in (module_mimebundle(module)["text/html"], module_mimebundle(multi)["text/html"],
                 spec_mimebundle(MultiRLModuleSpec(rl_module_specs={"<i>x</i>": default()}))["text/html"]):
        assert "<script>" not in html and "<b>bold</b>" not in html and "<i>x</i>" not in html
    html = module_mimebundle(multi)["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" in module_mimebundle(multi)["text/plain"]  # plain text is not HTML


def test_element_ids_are_unique_and_labels_point_at_them():
    module = default().build()
    first, second = module_html(module), module_html(module)
    ids1, fors1 = ids_and_fors(first)
    ids2, _ = ids_and_fors(second)
    assert len(ids1) == len(set(ids1)) > 3
    assert set(fors1) <= set(ids1)
    assert not set(ids1) & set(ids2)  # two renderings of the same module in one page never clash
    nested = module_mimebundle(MultiRLModule({"a": module, "b": default().build()}))["text/html"]
    ids, fors = ids_and_fors(nested)
    assert len(ids) == len(set(ids)) and set(fors) <= set(ids)


def test_multi_module_repr_lists_modules_and_shared_parameters():
    a, b = default().build(), default().build()
    b.pi_head = a.pi_head  # the two policies share one policy head
    multi = MultiRLModule({"a": a, "b": b})
    bundle = module_mimebundle(multi)
    assert "MultiRLModule with 2 module(s): a, b" in bundle["text/plain"]
    assert "Modules 'a', 'b' share parameters." in unescape(bundle["text/html"])
    assert "Modules 'a', 'b' share parameters." in bundle["text/plain"]


def test_spec_repr_shows_fields_config_and_the_architecture():
    spec = default(fcnet_activation="relu")
    bundle = spec._repr_mimebundle_()
    text, html = bundle["text/plain"], bundle["text/html"]
    assert text.splitlines()[0] == "RLModuleSpec -> DefaultActorCritic (default)"
    assert "fcnet_hiddens=[32, 32]" in text and "fcnet_activation='relu'" in text
    for part in ("RLModuleSpec", "default module", "fcnet_hiddens", "Architecture it builds", "pi_head", "(B, 32)"):
        assert part in html, part
    spec_cls = RLModuleSpec(module_class=MyModule, observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2))
    assert "test_reprs:MyModule" in spec_cls._repr_mimebundle_()["text/html"]


def test_spec_repr_explains_an_invalid_spec_and_missing_spaces():
    bad = RLModuleSpec(observation_space=gym.spaces.Box(0, 255, (4, 4, 3), np.uint8), action_space=gym.spaces.Discrete(2),
                       model_config={"conv_filters": [[8, 9, 1]]})  # a 9x9 kernel on a 4x4 image
    html = bad._repr_mimebundle_()["text/html"]
    assert "build() fails" in html
    html = RLModuleSpec()._repr_mimebundle_()["text/html"]
    assert "no architecture to show yet" in html
    multi = MultiRLModuleSpec(rl_module_specs={"p0": default(), "p1": default()})
    bundle = multi._repr_mimebundle_()
    assert bundle["text/plain"].startswith("MultiRLModuleSpec with 2 module(s)") and "p1" in bundle["text/html"]


def test_reprs_have_no_side_effects():
    module = default().build()
    module.train()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    module_mimebundle(module)
    spec_mimebundle(default())  # builds a module inside: must not consume the user's RNG
    assert torch.equal(torch.rand(3), expected)
    assert module.training
    assert all(not m._forward_hooks for m in module.modules())
    module.pi_head.eval()  # mixed modes (e.g. a frozen part) are kept as they were
    module_mimebundle(module)
    assert module.training and not module.pi_head.training and module.encoder.training


def test_a_module_that_fails_on_the_sample_still_renders():
    module = Broken(observation_space=CARTPOLE_OBS, action_space=gym.spaces.Discrete(2))
    bundle = module_mimebundle(module)
    assert "The sample forward pass failed" in bundle["text/html"] and "mat1 and mat2" in bundle["text/html"]
    assert "sample forward pass failed: RuntimeError" in bundle["text/plain"]


def test_dict_observation_shows_every_part():
    space = gym.spaces.Dict({"img": gym.spaces.Box(0, 255, (16, 16, 3), np.uint8), "pos": gym.spaces.Box(-1, 1, (2,)),
                             "room": gym.spaces.Discrete(4)})
    module = RLModuleSpec(observation_space=space, action_space=gym.spaces.Box(-1, 1, (2,)),
                          model_config={"fcnet_hiddens": [16]}).build()
    a = module_anatomy(module)
    assert a.obs_shapes == [("obs['img']", "(B, 16, 16, 3)"), ("obs['pos']", "(B, 2)"), ("obs['room']", "(B,)")]
    assert "DiagGaussian" in module_mimebundle(module)["text/html"]


def test_shared_html_helpers_for_other_reports():
    html = html_block(html_table(["check", "detail"], [("<ok>", "a & b")]), "plain text")
    assert "&lt;ok&gt;" in html and "a &amp; b" in html and "plain text" in html
    html = html_table(["", "check"], [(ok_mark(True), "<x>"), (ok_mark(False), "y")], raw=(0,))
    assert '<td><span class="rlkit-ok">&#10003;</span></td><td>&lt;x&gt;</td>' in html and "rlkit-bad" in html
    assert shape_str(torch.zeros(1, 3)) == "(B, 3)" and shape_str(torch.zeros(1)) == "(B,)"


def test_rendering_reprs_imports_no_notebook_libraries():
    code = ("import sys, gymnasium as gym, rlkit\n"
            "spec = rlkit.RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2))\n"
            "assert 'text/html' in spec._repr_mimebundle_() and 'text/html' in spec.build()._repr_mimebundle_()\n"
            "bad = [m for m in ('ipywidgets', 'matplotlib', 'pandas', 'IPython') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
