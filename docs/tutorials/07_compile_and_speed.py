r"""
Compile and speed
=================

``inn`` runs eagerly at the speed of the same maths written by hand: its containers add no
measurable overhead (see :doc:`/benchmarks`). Beyond that, speed comes from ``torch.compile``,
which traces the computation into a graph, fuses elementwise operations into few kernels and
removes the Python between them. The kernels that ``inn`` ships (affine and spline transformers,
clamps, log-det sums) are branch-free, so they trace into one graph without breaks.

This page trains one network three ways on the machine that built it: eagerly, with
``Flow.fit(compile=True)``, which compiles the whole training step (forward pass, loss,
backward pass and optimizer update) into one graph, and with the blocks compiled one by one
(``compile_blocks``, regional compilation).
Compiling costs time once, at the first step; it pays off for long runs.
"""

# %%
# The network and the eager baseline
# -----------------------------------

import itertools
import os
import time

import matplotlib.pyplot as plt
import torch

import inn
from inn.nn import mlp_subnet

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"
BLOCKS, FEATURES, BATCH = (2, 8, 256) if FAST else (8, 16, 512)
torch.manual_seed(0)
data = torch.randn(16 * BATCH, FEATURES) @ torch.randn(FEATURES, FEATURES)


def make_flow():
    torch.manual_seed(0)
    net = inn.SequenceINN(FEATURES)
    for _ in range(BLOCKS):
        net.append(inn.GLOWCouplingBlock, subnet_constructor=mlp_subnet((64, 64)))
    return inn.Flow(net)


def timed_fit(flow, **options):
    """Train for a few epochs; return the seconds each epoch took."""
    stamps = [time.perf_counter()]
    flow.fit(data, epochs=5, batch_size=BATCH, lr=1e-3, seed=0, progress=False,
             callback=lambda epoch, history: stamps.append(time.perf_counter()), **options)
    return [b - a for a, b in itertools.pairwise(stamps)]


flow_eager = make_flow()
eager = timed_fit(flow_eager)
print("eager epochs (s):   ", [round(t, 3) for t in eager])

# %%
# Compiling the training step
# ---------------------------
# ``compile=True`` (or a dict of ``torch.compile`` options such as ``{"mode":
# "max-autotune"}``) compiles the whole step. The first epoch includes the compilation.

flow_compiled = make_flow()
compiled = timed_fit(flow_compiled, compile=True)
print("compiled epochs (s):", [round(t, 3) for t in compiled])
steady_eager, steady_compiled = sorted(eager[1:])[1], sorted(compiled[1:])[1]
print(f"after compilation an epoch takes {steady_compiled / steady_eager:.2f}× the eager time; "
      f"compiling took about {compiled[0] - steady_compiled:.0f} s")

# %%
# The compiled step computes the same function: both runs started from the same weights and saw
# the same batches, so their parameters agree up to float32 rounding, which the fused kernels
# reorder and 80 Adam steps amplify.

difference = max(float((a - b).detach().abs().max())
                 for a, b in zip(flow_eager.parameters(), flow_compiled.parameters(), strict=True))
print(f"largest parameter difference after 5 epochs: {difference:.1e}")

# %%
# Compiling block by block
# ------------------------
# ``net.compile_blocks()`` compiles every block of a ``SequenceINN`` or ``GraphINN`` on its own
# and returns the container. Blocks of the same class and configuration share one compiled
# graph, so the compile time of a deep stack of identical blocks does not grow with its depth;
# the container's own Python (the loop over blocks, the log-det sum) stays eager. Compiling the
# whole step instead fuses across blocks and removes all Python, at a compile time that grows
# with depth.

flow_regional = make_flow()
flow_regional.transform.compile_blocks()
regional = timed_fit(flow_regional)
print("regional epochs (s):", [round(t, 3) for t in regional])
steady_regional = sorted(regional[1:])[1]
print(f"after compilation an epoch takes {steady_regional / steady_eager:.2f}× the eager time; "
      f"compiling took about {regional[0] - steady_regional:.0f} s")

fig, ax = plt.subplots(figsize=(6.5, 3))
for offset, (label, times) in zip([-0.27, 0, 0.27], [("eager", eager),
                                                      ("fit(compile=True)", compiled),
                                                      ("compile_blocks()", regional)],
                                  strict=True):
    ax.bar([k + offset for k in range(5)], times, 0.27, label=label)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("seconds (log scale)")
ax.legend()
fig.tight_layout()

# %%
# When compiling pays off
# -----------------------
# The numbers above come from whatever machine built this page, at toy size, and can go either
# way: on a busy two-core CPU a tiny network may gain nothing. Compiling pays off
#
# * in long runs: the compile time is paid once;
# * when the eager time is dominated by many small operations (vectors, small MLPs, splines,
#   many blocks): fusion removes kernel launches and the Python between them;
# * on GPUs, where launch overhead matters most.
#
# Keep shapes fixed (``drop_last`` batches, or ``{"dynamic": True}`` in the options) so the
# graph is not compiled again for a new batch size, and measure on your own machine and sizes
# (``benchmarks/`` has the scripts).
