"""Shared helpers of the memory-efficient backprop tests: losses and gradient comparisons."""

import copy

import torch


def loss_of(outputs, log_jac_det, seed=5):
    """A loss that weighs every output element and the log-det differently."""
    generator = torch.Generator().manual_seed(seed)
    loss = -1.7 * log_jac_det.sum()
    for t in outputs:
        weights = torch.randn(t.shape, generator=generator, dtype=t.dtype)
        loss = loss + (weights * t).sum() + 0.1 * (t * t).sum()
    return loss


def relative_error(a, b):
    """``max|a - b| / max|b|`` (``max|a - b|`` when ``b`` is zero)."""
    scale = b.abs().max()
    error = (a - b).abs().max()
    return float(error / scale) if scale > 0 else float(error)


def assert_same_gradients(standard, efficient, rtol=1e-10, names=None):
    """Both sequences of gradients are ``None`` at the same places and equal elsewhere."""
    assert len(standard) == len(efficient)
    for i, (a, b) in enumerate(zip(standard, efficient)):
        name = names[i] if names else i
        assert (a is None) == (b is None), f"gradient {name}: {a is None} vs {b is None}"
        if a is not None:
            assert a.shape == b.shape
            error = relative_error(b, a)
            assert error <= rtol, f"gradient {name}: relative error {error:.3g} > {rtol:g}"


def gradients(net, x, c, memory_efficient, rev=False, jac=True, seed=5):
    """Gradients of :func:`loss_of` w.r.t. inputs, conditions and parameters."""
    net.memory_efficient = memory_efficient
    x = [t.detach().clone().requires_grad_() for t in x]
    c = [t.detach().clone().requires_grad_() if t.is_floating_point() else t for t in c]
    out, log_jac_det = net(x if len(x) > 1 else x[0], c=c or None, rev=rev, jac=jac)
    out = (out,) if isinstance(out, torch.Tensor) else tuple(out)
    params = [p for p in net.parameters() if p.requires_grad]
    targets = x + [t for t in c if t.requires_grad] + params
    loss = loss_of(out, log_jac_det, seed) if jac else loss_of(out, log_jac_det.detach(), seed)
    return torch.autograd.grad(loss, targets, allow_unused=True)


def twin(net):
    """A deep copy of ``net`` whose module-owned random generators are in the same state.

    (``copy.deepcopy`` gives a ``torch.Generator`` a fresh state; stochastic log-det estimates
    such as ``IResNetLayer``'s keep their own generators.)
    """
    copied = copy.deepcopy(net)
    for original, clone in zip(net.modules(), copied.modules()):
        for name, value in vars(original).items():
            pairs = value.items() if isinstance(value, dict) else [(None, value)]
            for key, generator in pairs:
                if isinstance(generator, torch.Generator):
                    target = getattr(clone, name)
                    target = target[key] if key is not None else target
                    target.set_state(generator.get_state())
    return copied
