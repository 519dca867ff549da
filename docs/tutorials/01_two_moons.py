r"""
A first flow on two moons
=========================

A normalizing flow learns a density :math:`p(x)` by mapping data :math:`x` to a latent :math:`z`
through an invertible network :math:`f` and asking :math:`z` to look like a standard normal:

.. math::

    \log p(x) = \log \mathcal{N}(f(x); 0, I)
        + \log \left| \det \frac{\partial f}{\partial x} \right|.

This tutorial builds :math:`f` from affine coupling blocks, fits it to the two-moons data set by
maximum likelihood, and plots the learned density and samples drawn through :math:`f^{-1}`.
"""

# %%
# The data
# --------
# Two interleaving half circles with a little noise, standardised.

import os

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import make_moons

import inn
from inn.nn import mlp_subnet

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"
torch.manual_seed(0)

points, _ = make_moons(n_samples=4000, noise=0.06, random_state=0)
x = torch.as_tensor(points, dtype=torch.float32)
x = (x - x.mean(0)) / x.std(0)

# %%
# The network
# -----------
# A ``SequenceINN`` is a chain of invertible blocks over vectors of 2 features. Each
# ``GLOWCouplingBlock`` transforms one feature with a scale and shift predicted from the other,
# then the other from the first; ``PermuteRandom`` mixes the features between blocks; ``ActNorm``
# normalises each feature with a scale and shift initialised from the first batch. The subnets'
# last layers start at zero, so the network starts as the identity.

net = inn.SequenceINN(2)
for k in range(6):
    net.append(inn.ActNorm)
    net.append(inn.GLOWCouplingBlock, subnet_constructor=mlp_subnet((64, 64)))
    net.append(inn.PermuteRandom, seed=k)

flow = inn.Flow(net)  # the network and a standard normal base distribution
print(f"{sum(p.numel() for p in flow.parameters())} parameters")

# %%
# Training
# --------
# ``Flow.fit`` minimises the mean negative log-likelihood with Adam.

history = flow.fit(x, epochs=25 if FAST else 150, batch_size=256, lr=3e-3, progress=False)
print(f"NLL: {history['loss'][0]:.3f} after the first epoch, {history['loss'][-1]:.3f} at the end")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(history["loss"])
ax.set_xlabel("epoch")
ax.set_ylabel("negative log-likelihood (nats)")
fig.tight_layout()

# %%
# The learned density
# -------------------
# ``log_prob`` evaluates the density anywhere; on a grid it shows what the flow has learned.
# ``sample`` draws :math:`z` from the base and runs the network in reverse.

grid = torch.linspace(-2.5, 2.5, 200)
xx, yy = torch.meshgrid(grid, grid, indexing="xy")
with torch.no_grad():
    density = flow.log_prob(torch.stack([xx, yy], dim=-1).reshape(-1, 2)).exp().reshape(200, 200)
    samples = flow.sample(2000)

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharex=True, sharey=True)
axes[0].scatter(*x[:2000].T, s=1, alpha=0.5)
axes[0].set_title("data")
axes[1].pcolormesh(xx, yy, density, shading="auto", cmap="viridis")
axes[1].set_title("learned density $p(x)$")
axes[2].scatter(*samples.T, s=1, alpha=0.5, color="C1")
axes[2].set_title("samples $f^{-1}(z)$")
for ax in axes:
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Exactly invertible
# ------------------
# The network maps samples back to the latents that produced them, to float32 rounding, and the
# log-determinants of the two directions cancel.

with torch.no_grad():
    z, log_jac_det = net(x[:5])
    x_back, log_jac_det_rev = net(z, rev=True)
print("max reconstruction error:", float((x_back - x[:5]).abs().max()))
print("log-dets cancel:", torch.allclose(log_jac_det + log_jac_det_rev, torch.zeros(5), atol=1e-5))
