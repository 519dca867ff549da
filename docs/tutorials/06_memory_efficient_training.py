r"""
Memory-efficient training of a deep INN
=======================================

Standard backpropagation keeps every intermediate activation of the forward pass until the
backward pass uses it, so training memory grows linearly with depth. An invertible network does
not need them: each block's input can be recomputed from its output by running the block in
reverse (Gomez et al., 2017, *The Reversible Residual Network*). With
``memory_efficient=True`` a ``SequenceINN`` or ``GraphINN`` keeps only its outputs (plus the
inputs of blocks that are not exactly invertible), and backward rebuilds each block's input,
re-runs the block with gradients and moves on. The gradients are those of standard backprop;
the price is one extra inverse and forward pass per block.
"""

# %%
# What autograd keeps
# -------------------
# A stack of Glow steps on 4×16×16 feature maps, at increasing depth. A
# ``saved_tensors_hooks`` context sees every tensor autograd saves for backward during the
# forward pass; parameters are excluded (they are kept in any case).

import os
import time

import matplotlib.pyplot as plt
import torch

import inn
from inn.backprop import check_recomputation
from inn.nn import conv_subnet, mlp_subnet

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"


def glow_stack(depth, memory_efficient):
    torch.manual_seed(0)
    net = inn.SequenceINN(4, 16, 16, memory_efficient=memory_efficient)
    for _ in range(depth):
        net.append(inn.ActNorm)
        net.append(inn.InvertibleLinear)
        net.append(inn.GLOWCouplingBlock, subnet_constructor=conv_subnet(32))
    return net


def saved_megabytes(net, x):
    """MB of distinct storages autograd saves during one forward pass (parameters excluded)."""
    storages = {}

    def pack(tensor):
        if not isinstance(tensor, torch.nn.Parameter):
            storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        net(x)
    return sum(storages.values()) / 1e6


x = torch.randn(32, 4, 16, 16)
depths = [2, 4, 8, 16]
saved = {mode: [saved_megabytes(glow_stack(d, mode), x) for d in depths] for mode in (False, True)}
for depth, standard, efficient in zip(depths, saved[False], saved[True], strict=True):
    print(f"{3 * depth:3d} blocks: standard {standard:6.1f} MB, "
          f"memory_efficient {efficient:.2f} MB")

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot([3 * d for d in depths], saved[False], "o-", label="standard backprop")
ax.plot([3 * d for d in depths], saved[True], "o-", label="memory_efficient=True")
ax.set_xlabel("blocks")
ax.set_ylabel("saved for backward (MB)")
ax.legend()
fig.tight_layout()

# %%
# With ``memory_efficient=True`` what autograd keeps is one batch of outputs, whatever the
# depth. During backward, one block at a time holds its recomputed activations, so the peak
# adds the activations of a single block: the standard figure divided by the number of blocks.
#
# The same gradients
# ------------------
# In float64 the two modes agree to rounding:

x64 = torch.randn(8, 4, 16, 16, dtype=torch.float64)
gradients = {}
for mode in (False, True):
    net = glow_stack(4, mode).double()
    with torch.no_grad():  # move away from the identity initialisation
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    z, log_jac_det = net(x64)
    (0.5 * z.square().sum() - log_jac_det.sum()).backward()
    gradients[mode] = torch.cat([p.grad.flatten() for p in net.parameters()])
difference = (gradients[True] - gradients[False]).norm() / gradients[False].norm()
print(f"relative difference of the gradients: {float(difference):.1e}")

# %%
# In float32, the inputs rebuilt by inversion differ from the true ones by rounding, and a block
# that inverts badly (an exploding scale, say) would corrupt the gradients silently.
# ``check_recomputation`` keeps the true inputs as well and reports how far each rebuilt input
# is from them (with ``rtol=...`` it raises instead). Use it to debug, not to train: it costs the
# memory the mode saves.

net = glow_stack(4, True)
with check_recomputation() as report:
    z, log_jac_det = net(x)
    (0.5 * z.square().sum() - log_jac_det.sum()).backward()
print(f"{len(report.blocks)} blocks rebuilt, largest relative error "
      f"{report.max_relative_error:.1e}")

# %%
# Training a deep flow
# --------------------
# The mode is a switch on the container (``memory_efficient=True`` when building it, or the
# attribute ``net.memory_efficient`` later), so it also works for the presets of ``inn.flows``.
# A 36-block flow on two moons:



data = inn.datasets.moons(2000, seed=0)
data = (data - data.mean(0)) / data.std(0)
deep = inn.SequenceINN(2, memory_efficient=True)
for k in range(12):
    deep.append(inn.ActNorm)
    deep.append(inn.GLOWCouplingBlock, subnet_constructor=mlp_subnet((32, 32)))
    deep.append(inn.PermuteRandom, seed=k)
flow = inn.Flow(deep)
history = flow.fit(data, epochs=12 if FAST else 80, batch_size=100, lr=3e-3, progress=False)
print(f"NLL {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}")

with torch.no_grad():
    samples = flow.sample(2000)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharex=True, sharey=True)
axes[0].scatter(*data.T, s=1, alpha=0.5)
axes[0].set_title("data")
axes[1].scatter(*samples.T, s=1, alpha=0.5, color="C1")
axes[1].set_title("36 blocks, memory_efficient=True")
for ax in axes:
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
fig.tight_layout()

# %%
# The cost in time
# ----------------
# Each block runs forward twice and in reverse once per training step instead of forward once,
# so expect a step to take roughly 1.5–2× as long. Timed on the machine that built this page:


def step_seconds(net, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        z, log_jac_det = net(x)
        (0.5 * z.square().sum() - log_jac_det.sum()).backward()
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 2]


standard, efficient = step_seconds(glow_stack(8, False)), step_seconds(glow_stack(8, True))
print(f"24 blocks, one training step: standard {1e3 * standard:.0f} ms, "
      f"memory_efficient {1e3 * efficient:.0f} ms ({efficient / standard:.2f}×)")
