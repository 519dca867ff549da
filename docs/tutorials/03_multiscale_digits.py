r"""
A multiscale image flow on digits
=================================

Image flows squeeze space into channels and factor out half of the variables at every scale, as
in RealNVP and Glow: coarse structure is modelled by the deep end of the network, fine detail
leaves early. This tutorial builds such a network as a ``GraphINN`` on the 8×8 handwritten
digits of scikit-learn, trains it, reports the test log-likelihood in **bits per dimension**,
and draws new digits.
"""

# %%
# Data and dequantization
# -----------------------
# The digits have 17 grey levels (0 to 16). A density on continuous values needs continuous
# data, so every epoch adds uniform noise, :math:`y = (k + u) / 17` with
# :math:`u \sim U(0, 1)`, and the flow models :math:`x = 4 (y - \tfrac12)`. Then
# :math:`-\log_2 P(k) \le -\log_2 p(x) - D \log_2 4 + D \log_2 17` for :math:`D = 64` pixels,
# so the flow's NLL bounds the discrete one.

import math
import os

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch.utils.data import Dataset

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.nn import conv_subnet

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"
LEVELS, SCALE, D = 17, 4.0, 64
torch.manual_seed(0)

digits = torch.as_tensor(load_digits().images, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8)
order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))
train_digits, test_digits = digits[order[:1500]], digits[order[1500:]]


class Dequantized(Dataset):
    """Grey levels with fresh uniform noise on every access, mapped to [-2, 2]."""

    def __init__(self, levels):
        self.levels = levels

    def __len__(self):
        return len(self.levels)

    def __getitem__(self, i):
        y = (self.levels[i] + torch.rand_like(self.levels[i])) / LEVELS
        return SCALE * (y - 0.5)


def bits_per_dim(nll_nats):
    """Discrete bits per pixel from the flow's mean NLL (nats per image) on dequantized data."""
    return (nll_nats - D * math.log(SCALE) + D * math.log(LEVELS)) / (D * math.log(2))


# %%
# A multiscale network
# --------------------
# ``IRevNetDownsampling`` moves each 2×2 patch into 4 channels: :math:`(1, 8, 8) \to (4, 4, 4)`.
# Two Glow steps (``ActNorm``, an invertible 1×1 convolution, an affine coupling with a
# convolutional subnet) mix the channels; ``Split`` sends half of them straight to the output;
# the other half is squeezed again to :math:`(8, 2, 2)` and transformed further. Both halves are
# flattened and concatenated into one latent vector of 64 numbers, so the network has a single
# output and ``inn.Flow`` can wrap it.


def glow_steps(node, n, hidden, name):
    """``n`` Glow steps after ``node``; returns the nodes."""
    nodes = []
    for k in range(n):
        for module, args in [(Fm.ActNorm, {}), (Fm.InvertibleLinear, {}),
                             (Fm.GLOWCouplingBlock, {"subnet_constructor": conv_subnet(hidden)})]:
            node = Ff.Node(node, module, args, name=f"{name}_{k}_{module.__name__}")
            nodes.append(node)
    return nodes


x = Ff.InputNode(1, 8, 8, name="x")
squeeze_1 = Ff.Node(x, Fm.IRevNetDownsampling, {}, name="squeeze_1")  # (4, 4, 4)
level_1 = glow_steps(squeeze_1, 2, 32, "level_1")
split = Ff.Node(level_1[-1], Fm.Split, {"section_sizes": [2, 2]}, name="split")
early = Ff.Node(split.out1, Fm.Flatten, {}, name="flatten_early")  # 32 numbers leave here
squeeze_2 = Ff.Node(split.out0, Fm.IRevNetDownsampling, {}, name="squeeze_2")  # (8, 2, 2)
level_2 = glow_steps(squeeze_2, 2, 48, "level_2")
late = Ff.Node(level_2[-1], Fm.Flatten, {}, name="flatten_late")
z = Ff.Node([late, early], Fm.Concat, {}, name="concat")
net = Ff.GraphINN([x, squeeze_1, *level_1, split, early, squeeze_2, *level_2, late, z,
                   Ff.OutputNode(z, name="z")])
flow = inn.Flow(net)
print(f"{len(net.node_list)} nodes, {sum(p.numel() for p in flow.parameters())} parameters, "
      f"output shapes {net.output_dims(net.dims_in)}")

# %%
# Training
# --------

history = flow.fit(Dequantized(train_digits), epochs=30 if FAST else 300, batch_size=100,
                   lr=3e-3, val_data=Dequantized(test_digits), progress=False)
train_bpd = [bits_per_dim(loss) for loss in history["loss"]]
test_bpd = [bits_per_dim(loss) for loss in history["val_loss"]]

# %%
# Bits per dimension
# ------------------
# Two baselines put the number in context: a uniform distribution over the 17 levels
# (:math:`\log_2 17 = 4.09` bits), and independent pixels, each with its own histogram of grey
# levels fitted on the training set. A model that captures how pixels depend on each other beats
# the second.

counts = torch.stack([(train_digits == k).sum(0) for k in range(LEVELS)]) + 1.0  # Laplace
pixel_probs = counts / counts.sum(0)  # (17, 1, 8, 8): a histogram per pixel
independent_bpd = float(-pixel_probs.gather(0, test_digits.long()).log2().mean())

print(f"uniform levels:     {math.log2(LEVELS):.3f} bits/dim")
print(f"independent pixels: {independent_bpd:.3f} bits/dim (test)")
print(f"multiscale flow:    {test_bpd[-1]:.3f} bits/dim (test), {train_bpd[-1]:.3f} (train)")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(train_bpd, label="flow, train")
ax.plot(test_bpd, label="flow, test")
ax.axhline(independent_bpd, color="k", linestyle=":", label="independent pixels, test")
ax.set_xlabel("epoch")
ax.set_ylabel("bits / dim")
ax.set_ylim(independent_bpd - 1.5, independent_bpd + 1)
ax.legend()
fig.tight_layout()

# %%
# New digits
# ----------
# Sampling runs the network in reverse on latents from the base distribution. Scaling the
# latents by a *temperature* below 1 trades diversity for cleaner samples, as in Glow.


def show(images, title, ax_row):
    for ax, image in zip(ax_row, images, strict=True):
        ax.imshow(image.squeeze(0), cmap="gray_r", vmin=-2, vmax=2)
        ax.axis("off")
    ax_row[0].set_title(title, loc="left", fontsize=10)


with torch.no_grad():
    samples = flow.sample(10)
    z_cold = 0.7 * torch.randn(10, D)
    cold, _ = net(z_cold, rev=True)

fig, axes = plt.subplots(3, 10, figsize=(10, 3.4))
show(SCALE * (test_digits[:10] / LEVELS - 0.5), "test digits", axes[0])
show(samples, "samples, temperature 1", axes[1])
show(cold, "samples, temperature 0.7", axes[2])
fig.tight_layout()

# %%
# The same network reconstructs an image from its latent code exactly; what leaves at the first
# split carries the fine detail. Replacing those 32 numbers with zeros keeps the coarse shape:

with torch.no_grad():
    images = Dequantized(test_digits[:10])
    images = torch.stack([images[i] for i in range(10)])
    codes, _ = net(images)
    reconstructed, _ = net(codes, rev=True)
    coarse_codes = codes.clone()
    coarse_codes[:, 32:] = 0.0  # the Concat puts the early (fine-scale) half last
    coarse, _ = net(coarse_codes, rev=True)
print("reconstruction error:", float((reconstructed - images).abs().max()))

fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
show(images, "dequantized test digits", axes[0])
show(coarse, "fine-scale latents set to zero", axes[1])
fig.tight_layout()
