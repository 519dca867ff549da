"""Containers run built-in blocks through their hooks directly, and fall back to the full call
(``nn.Module.__call__``, the public ``forward`` and its checks) wherever that could differ: hooks,
patched or compiled modules, user modules, and inputs the container has not checked."""

import pytest
import torch
import torch.nn as nn
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.framework.execution import runs_directly


@pytest.fixture
def checks(monkeypatch):
    """Count the per-block input checks of GLOW blocks and permutations."""
    calls = []
    for cls in (Fm.GLOWCouplingBlock, Fm.PermuteRandom):
        original = cls._check_call

        def counting(self, *args, _original=original, **kwargs):
            calls.append(self)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "_check_call", counting)
    return calls


def chain(n=3):
    seq = Ff.SequenceINN(4)
    for k in range(n):
        seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
        seq.append(Fm.PermuteRandom, seed=k)
    return seq


def test_sequence_runs_built_in_blocks_without_rechecking(checks):
    seq = chain()
    x = torch.randn(5, 4)
    z, log_jac_det = seq(x)
    x_rec, _ = seq(z, rev=True)
    assert checks == []
    torch.testing.assert_close(x_rec, x, atol=1e-5, rtol=1e-5)
    expected = x
    total = torch.zeros(5)
    for block in seq:
        (expected,), block_log_det = block([expected])
        total = total + block_log_det
    torch.testing.assert_close(z, expected, atol=0, rtol=0)
    torch.testing.assert_close(log_jac_det, total, atol=0, rtol=0)


def test_graph_runs_built_in_blocks_without_rechecking(checks):
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    glow = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=c)
    perm = Ff.Node(glow, Fm.PermuteRandom, {"seed": 0})
    net = Ff.GraphINN([x, c, glow, perm, Ff.OutputNode(perm)])
    z, _ = net(torch.randn(3, 4), c=torch.randn(3, 2))
    net(z, c=torch.randn(3, 2), rev=True)
    assert checks == []


def test_hooks_see_every_call_and_can_change_outputs(checks):
    seq = chain(2)
    seen = []
    seq[1].register_forward_pre_hook(lambda module, args: seen.append("pre"))
    seq[1].register_forward_hook(lambda module, args, out: ((out[0][0] * 2,), out[1]))
    x = torch.randn(5, 4)
    z, _ = seq(x)
    assert seen == ["pre"]
    # the hooked block is called in full, and so is the block reading its hooked output
    assert checks == [seq[1], seq[2]]
    (h,), _ = seq[0]([x])
    (h,), _ = seq[1]([h])  # doubled by the hook
    for block in list(seq)[2:]:
        (h,), _ = block([h])
    torch.testing.assert_close(z, h, atol=0, rtol=0)


def test_global_hooks_see_every_block():
    seen = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: seen.append(type(module).__name__))
    try:
        chain(1)(torch.randn(2, 4))
    finally:
        handle.remove()
    assert "GLOWCouplingBlock" in seen and "PermuteRandom" in seen


def test_patched_forward_is_called():
    seq = chain(1)
    block = seq[0]
    calls = []
    original = block.forward

    def patched(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    block.forward = patched
    assert not runs_directly(block)
    seq(torch.randn(2, 4))
    assert calls == [1]


def test_user_modules_and_subclasses_are_called_in_full():
    class Doubling(inn.modules.InvertibleModule):
        def _forward(self, x, c, jac):
            return (2 * x[0],), x[0].new_full((x[0].shape[0],), 4 * 0.6931471805599453)

        def _inverse(self, z, c, jac):
            return (z[0] / 2,), z[0].new_full((z[0].shape[0],), -4 * 0.6931471805599453)

        def output_dims(self, input_dims):
            return input_dims

    class MyGlow(Fm.GLOWCouplingBlock):
        pass

    assert not runs_directly(Doubling([(4,)]))
    assert not runs_directly(MyGlow([(4,)], subnet_constructor=mlp_subnet))
    assert runs_directly(Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet))
    assert not runs_directly(chain(1))  # containers check their own inputs


def test_wrong_user_output_is_caught_by_the_next_built_in_block():
    class Widening(inn.modules.InvertibleModule):
        """Declares (4,) -> (4,) but returns 5 features."""

        def _forward(self, x, c, jac):
            return (torch.cat([x[0], x[0][:, :1]], 1),), x[0].new_zeros(x[0].shape[0])

        def _inverse(self, z, c, jac):
            return (z[0][:, :4],), z[0].new_zeros(z[0].shape[0])

        def output_dims(self, input_dims):
            return input_dims

    seq = Ff.SequenceINN(4)
    seq.append(Widening([(4,)]))
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
    with pytest.raises(inn.ShapeError, match=r"block 1 \(GLOWCouplingBlock\).*\(B, 4\).*5"):
        seq(torch.randn(3, 4))


def test_wrong_feed_forward_condition_is_caught_by_its_reader():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    ff = Ff.FeedForwardNode(c, (3,), nn.Linear(2, 5), name="ff")  # declares 3, returns 5
    glow = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=ff,
                   name="glow")
    net = Ff.GraphINN([x, c, ff, glow, Ff.OutputNode(glow)])
    with pytest.raises(inn.ShapeError, match=r"Node 'glow' \(GLOWCouplingBlock\).*condition"):
        net(torch.randn(3, 4), c=torch.randn(3, 2))


def test_private_torch_names_the_direct_path_reads():
    """The eager direct-call path reads private torch names; each is pinned here, so that a torch
    release that renames one fails this test instead of skipping hooks silently."""
    import torch.nn.modules.module as module_hooks

    from inn.framework.execution import _GLOBAL_HOOK_NAMES, _global_hooks_active

    for name in _GLOBAL_HOOK_NAMES:
        assert isinstance(getattr(module_hooks, name), dict), name
    registrations = [
        lambda hook: module_hooks.register_module_forward_hook(hook),
        lambda hook: module_hooks.register_module_forward_hook(hook, always_call=True),
        module_hooks.register_module_forward_pre_hook,
        module_hooks.register_module_full_backward_hook,
        module_hooks.register_module_full_backward_pre_hook,
    ]
    for register in registrations:
        assert not _global_hooks_active()
        handle = register(lambda *args: None)
        try:
            assert _global_hooks_active()
        finally:
            handle.remove()
    # per-module registries: each public registration fills the one runs_directly reads
    for register in ("register_forward_hook", "register_forward_pre_hook",
                     "register_full_backward_hook", "register_full_backward_pre_hook"):
        block = Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet)
        assert runs_directly(block)
        getattr(block, register)(lambda *args: None)
        assert not runs_directly(block), register
    block = Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet)
    block.compile(backend="eager")
    assert block._compiled_call_impl is not None and not runs_directly(block)
    modules = nn.ModuleList([block])
    assert list(modules._modules.values()) == [block]  # the containers' plain list of blocks
