"""Rational-quadratic spline coupling flows: inn against FrEIA (master), zuko and nflows.

An 8-block RQ-spline coupling flow on D=16 features, batch 4096, 8 bins, one thread. inn and
FrEIA use 8 two-sided ``RationalQuadraticSpline`` blocks (the same weights: inn loads FrEIA's
``state_dict``, and the outputs are checked to agree); zuko and nflows, whose couplings are
one-sided, use 16 alternating couplings, the same number of subnet calls and spline evaluations
of 8 features; ``inn-tfep`` is the same with 16 one-sided ``SplineCouplingBlock`` couplings
(tfep's parameterisation). Every subnet is an MLP ``Linear(8, 128) - ReLU - Linear(128, 8·P)``
(``--layers`` sets the number of hidden layers). Forward (density) and inverse (sampling)
passes run under ``no_grad`` (``--grad`` adds backward), interleaved over peers, and the median
is reported with the ratio to FrEIA. ``inn compiled`` is ``torch.compile`` of inn's flow
(inductor; ``--no-compile`` drops it). ``subnets`` times the 16 subnet calls alone, the part of
every peer's time that is not spline work.

FrEIA 0.2 on PyPI has no splines. Import FrEIA master from a source checkout with
``--freia-src PATH``, e.g. made with
``mkdir -p /tmp/freia && git -C <FrEIA repo> archive HEAD | tar -x -C /tmp/freia``.
A missing peer is reported, not fatal.

Run: ``python benchmarks/spline.py --freia-src /tmp/freia [--rounds 6] [--grad]``
"""

import argparse
import copy
import importlib
import itertools
import platform
import statistics
import sys
from functools import partial

import torch
import torch.nn as nn
from _timing import time_calls

import inn.modules as Fm

N_BLOCKS, DIM, BATCH, BINS, HIDDEN, BOUND = 8, 16, 4096, 8, 128, 3.0
HALF = DIM // 2


def mlp(c_in, c_out, layers=1):
    sizes = [c_in] + [HIDDEN] * layers
    parts = []
    for a, b in itertools.pairwise(sizes):
        parts += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*parts, nn.Linear(sizes[-1], c_out))


class ContextFree(nn.Module):
    """nflows calls its transform nets as ``net(x, context)``."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, context=None):
        return self.net(x)


class Chain(nn.Module):
    """Run FrEIA-style blocks in sequence, summing log-dets."""

    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, rev=False):
        log_det = x.new_zeros(x.shape[0])
        for block in reversed(self.blocks) if rev else self.blocks:
            (x,), block_log_det = block([x], rev=rev)
            log_det = log_det + block_log_det
        return x, log_det


def build_inn(layers):
    torch.manual_seed(0)
    blocks = [Fm.RationalQuadraticSpline([(DIM,)], subnet_constructor=partial(mlp, layers=layers),
                                         bins=BINS) for _ in range(N_BLOCKS)]
    return Chain(blocks)


def build_inn_tfep(layers):
    """16 one-sided ``SplineCouplingBlock`` couplings (tfep's parameterisation), alternating."""
    torch.manual_seed(0)
    blocks = [Fm.SplineCouplingBlock([(DIM,)], subnet_constructor=partial(mlp, layers=layers),
                                     n_bins=BINS, mask=torch.arange(DIM) % 2 == i % 2)
              for i in range(2 * N_BLOCKS)]
    return Chain(blocks)


class SubnetsOnly(nn.Module):
    """The 16 subnet calls of ``inn`` alone: the floor that no spline implementation beats."""

    def __init__(self, chain):
        super().__init__()
        self.chain = chain

    def forward(self, x, rev=False):
        log_det = x.new_zeros(x.shape[0])
        for block in self.chain.blocks:
            outputs = block.subnet1(x[:, HALF:]).sum(1) + block.subnet2(x[:, :HALF]).sum(1)
            log_det = log_det + 0.0 * outputs  # so that --grad also times their backward
        return x, log_det


def build_freia(src, layers, reference):
    if src is None:
        return None, ("FrEIA 0.2 (PyPI) has no splines; pass --freia-src PATH to a FrEIA master "
                      "checkout")
    sys.path.insert(0, src)
    try:
        freia_modules = importlib.import_module("FrEIA.modules")
    except ImportError as error:
        return None, f"cannot import FrEIA from {src}: {error}"
    if not hasattr(freia_modules, "RationalQuadraticSpline"):
        return None, f"FrEIA at {freia_modules.__file__} has no RationalQuadraticSpline"
    blocks = [freia_modules.RationalQuadraticSpline(
        [(DIM,)], subnet_constructor=partial(mlp, layers=layers), bins=BINS)
        for _ in range(N_BLOCKS)]
    chain = Chain(blocks)
    chain.load_state_dict(reference.state_dict())
    return chain, None


def build_zuko(layers):
    try:
        from zuko.flows.coupling import GeneralCouplingTransform
        from zuko.transforms import MonotonicRQSTransform
    except ImportError as error:
        return None, f"zuko missing: {error}"
    torch.manual_seed(0)
    transforms = []
    for i in range(2 * N_BLOCKS):
        mask = torch.arange(DIM) % 2 == i % 2
        transforms.append(GeneralCouplingTransform(
            DIM, mask=mask, univariate=partial(MonotonicRQSTransform, bound=BOUND),
            shapes=[(BINS,), (BINS,), (BINS - 1,)], hidden_features=[HIDDEN] * layers))
    flow = nn.ModuleList(transforms)

    class Zuko(nn.Module):
        def forward(self, x, rev=False):
            log_det = x.new_zeros(x.shape[0])
            if rev:
                for t in reversed(flow):
                    x = t().inv(x)
                return x, log_det
            for t in flow:
                x, ladj = t().call_and_ladj(x)
                log_det = log_det + ladj
            return x, log_det

    return Zuko(), None


def build_nflows(layers):
    try:
        from nflows.transforms import (
            CompositeTransform,
            PiecewiseRationalQuadraticCouplingTransform,
        )
    except ImportError as error:
        return None, f"nflows missing: {error}"
    torch.manual_seed(0)
    transforms = [PiecewiseRationalQuadraticCouplingTransform(
        mask=(torch.arange(DIM) % 2 == i % 2).int(),
        transform_net_create_fn=lambda a, b: ContextFree(mlp(a, b, layers)), num_bins=BINS,
        tails="linear",
        tail_bound=BOUND) for i in range(2 * N_BLOCKS)]
    composite = CompositeTransform(transforms)

    class NFlows(nn.Module):
        def forward(self, x, rev=False):
            return composite.inverse(x) if rev else composite(x)

    return NFlows(), None


def run(flows, rounds, repeats, grad):
    x = torch.randn(BATCH, DIM, generator=torch.Generator().manual_seed(2))
    results = {}
    for direction, rev in [("forward", False), ("inverse", True)]:
        inputs = {}
        with torch.no_grad():
            for name, flow in flows.items():
                inputs[name] = flow(x)[0] if rev else x

        def call(name, rev=rev, inputs=inputs):
            if not grad:
                with torch.no_grad():
                    return flows[name](inputs[name], rev=rev)
            out, log_det = flows[name](inputs[name].detach().requires_grad_(), rev=rev)
            (out.sum() + log_det.sum()).backward()
            return out

        for name in flows:
            time_calls(lambda name=name: call(name), 2)  # warm up
        samples = {name: [] for name in flows}
        for _ in range(rounds):
            for name in flows:
                samples[name].append(time_calls(lambda name=name: call(name), repeats))
        results[direction] = {name: statistics.median(v) for name, v in samples.items()}
    return results


def main(freia_src=None, rounds=6, repeats=2, grad=False, layers=1, compiled=True):
    torch.set_num_threads(1)
    reference = build_inn(layers)
    flows, missing = {"inn": reference, "inn-tfep": build_inn_tfep(layers)}, {}
    for name, (flow, why) in {"FrEIA": build_freia(freia_src, layers, reference),
                              "zuko": build_zuko(layers), "nflows": build_nflows(layers)}.items():
        if flow is None:
            missing[name] = why
        else:
            flows[name] = flow
    if "FrEIA" in flows:  # same weights, same numbers (checked in float64)
        x = 2.0 * torch.randn(64, DIM, dtype=torch.float64)
        with torch.no_grad():
            (z_inn, ld_inn) = reference.double()(x)
            (z_freia, ld_freia) = flows["FrEIA"].double()(x)
        reference.float(), flows["FrEIA"].float()
        assert torch.allclose(z_inn, z_freia, atol=1e-9), "inn and FrEIA disagree"
        assert torch.allclose(ld_inn, ld_freia, atol=1e-9), "inn and FrEIA log-dets disagree"
    if compiled:  # torch.compile of the same flow (inductor), a copy with the same weights
        flows["inn compiled"] = torch.compile(copy.deepcopy(reference))
    flows["subnets"] = SubnetsOnly(reference)
    results = run(flows, rounds, repeats, grad)

    mode = "forward+backward" if grad else "no_grad"
    print(f"RQ-spline coupling flow: {N_BLOCKS} two-sided blocks (16 one-sided for zuko/nflows), "
          f"D={DIM}, batch {BATCH}, {BINS} bins, MLP {layers}x{HIDDEN}, {mode}, 1 thread, "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}")
    baseline = "FrEIA" if "FrEIA" in flows else None
    for direction, timings in results.items():
        print(f"  {direction}:")
        for name, seconds in timings.items():
            ratio = f"  {seconds / timings[baseline]:.2f}x FrEIA" if baseline else ""
            print(f"    {name:<13} {1e3 * seconds:8.2f} ms{ratio}")
    for name, why in missing.items():
        print(f"  {name}: not run ({why})")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freia-src", default=None, help="path to a FrEIA master checkout")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--layers", type=int, default=1, help="hidden layers per subnet MLP")
    parser.add_argument("--grad", action="store_true", help="time forward + backward")
    parser.add_argument("--no-compile", action="store_true", help="without the compiled row")
    args = parser.parse_args()
    main(args.freia_src, args.rounds, args.repeats, args.grad, args.layers, not args.no_compile)
