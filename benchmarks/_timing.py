"""Shared benchmark pieces: the timed tasks of a flow (forward, reverse, train step), a timer."""

import time

import torch


def flow_tasks(net, x, z, parameters=None, compile_step=False):
    """Forward and reverse under ``no_grad``, and one training step (NLL, backward, Adam).

    Args:
        net: The flow, called as ``net(x)`` and ``net(z, rev=True)``, returning ``(out, log-det)``.
        x: The data batch.
        z: The latents for the reverse task.
        parameters: A callable giving the parameters that Adam updates (``net.parameters``).
        compile_step: Compile Adam's step with ``torch.compile`` too.

    Returns:
        ``{"forward": ..., "reverse": ..., "train step": ...}``, each a call without arguments.
    """
    optimizer = torch.optim.Adam((parameters or net.parameters)(), lr=1e-4)
    step = torch.compile(optimizer.step) if compile_step else optimizer.step

    def forward():
        with torch.no_grad():
            net(x)

    def reverse():
        with torch.no_grad():
            net(z, rev=True)

    def train_step():
        optimizer.zero_grad()
        out, log_jac_det = net(x)
        loss = (0.5 * out.pow(2).sum(1) - log_jac_det).mean()
        loss.backward()
        step()

    return {"forward": forward, "reverse": reverse, "train step": train_step}


def time_calls(fn, repeats):
    """Mean seconds per call of ``fn`` over ``repeats`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats
