"""Build a registry case in float64, perturbed, and wrap it plain / inverted / in containers."""

import numpy as np
import torch

import inn.framework as Ff
from inn.modules import Inverse


def build(case, seed=0, dtype=torch.float64):
    """Build, cast, warm up and perturb the module of ``case``; return it with inputs."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    module = case.factory().to(dtype)
    generator = torch.Generator().manual_seed(1234)
    x = case.inputs(module.dims_in, 4, generator, dtype)
    c = case.conditions(module.dims_c, 4, generator, dtype)
    if case.warmup:
        with torch.no_grad():
            module(x, c=c or None)
    if case.perturb is not None:
        case.perturb(module, torch.Generator().manual_seed(99))
    return module, x, c


def call(module, x, c, rev=False, jac=True):
    """Call a module or container and always return (tuple of outputs, log-det)."""
    out, log_jac_det = module(list(x), c=list(c) if c else None, rev=rev, jac=jac)
    if isinstance(out, torch.Tensor):
        out = (out,)
    return tuple(out), log_jac_det


def wrap(module, form):
    """Return a callable network holding ``module`` in the given form."""
    if form == "plain":
        return module
    if form == "inverse":
        return Inverse(module)
    if form == "sequence":
        seq = Ff.SequenceINN(*module.dims_in[0])
        if module.dims_c:
            seq.append(module, cond=list(range(len(module.dims_c))))
        else:
            seq.append(module)
        return seq
    if form == "graph":
        inputs = [Ff.InputNode(*shape, name=f"in{i}") for i, shape in enumerate(module.dims_in)]
        conds = [Ff.ConditionNode(*shape, name=f"c{i}") for i, shape in enumerate(module.dims_c)]
        node = Ff.Node(inputs, module, conditions=conds or None, name="block")
        outputs = [Ff.OutputNode(node.out0 if i == 0 else (node, i), name=f"out{i}")
                   for i in range(len(node.output_dims))]
        return Ff.GraphINN(inputs + conds + [node] + outputs, force_tuple_output=True)
    raise ValueError(form)


def flat_jacobian(fn, x):
    """Autograd Jacobian of the flattened outputs w.r.t. the flattened inputs, ``(B, D, B, D)``."""
    batch = x[0].shape[0]
    sizes = [t[0].numel() for t in x]
    flat = torch.cat([t.reshape(batch, -1) for t in x], dim=1)

    def flat_fn(v):
        parts = torch.split(v, sizes, dim=1)
        outs = fn([p.reshape(t.shape) for p, t in zip(parts, x)])
        return torch.cat([o.reshape(batch, -1) for o in outs], dim=1)

    jac = torch.autograd.functional.jacobian(flat_fn, flat, vectorize=True)
    return jac  # (B, D_out, B, D_in)
