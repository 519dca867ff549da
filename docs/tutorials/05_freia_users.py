r"""
FrEIA users: the same program on inn
====================================

``inn`` is a drop-in superset of `FrEIA <https://github.com/vislearn/FrEIA>`_: a FrEIA program
runs unchanged once its two imports point at ``inn``. This tutorial takes the training program
of FrEIA's README, runs it on both libraries, loads a FrEIA checkpoint into ``inn``, and shows
what changes on purpose: errors that name the node and the shapes. The
:doc:`migration guide </migrating_from_freia>` lists every difference.
"""

# %%
# One program, two libraries
# --------------------------
# FrEIA's README trains eight ``AllInOneBlock``\ s on two moons. Here it is as a function of the
# two modules, ``Ff`` and ``Fm``, so that it can run on either library. Nothing in it is
# specific to ``inn``; ``options`` is empty unless said otherwise.

import os
import time

import FrEIA.framework as freia_framework
import FrEIA.modules as freia_modules
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from sklearn.datasets import make_moons

import inn.framework
import inn.modules

FAST = os.environ.get("INN_DOCS_FAST", "1") != "0"
BATCHSIZE, N_DIM, STEPS = 100, 2, 200 if FAST else 1000
batches = [torch.Tensor(make_moons(n_samples=BATCHSIZE, noise=0.05, random_state=i)[0])
           for i in range(STEPS)]


def subnet_fc(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, 128), nn.ReLU(), nn.Linear(128, c_out))


def build(Ff, Fm, **options):
    net = Ff.SequenceINN(N_DIM)
    for _ in range(8):
        net.append(Fm.AllInOneBlock, subnet_constructor=subnet_fc, permute_soft=True, **options)
    return net


def train(net):
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    losses = []
    for x in batches:
        optimizer.zero_grad()
        z, log_jac_det = net(x)
        loss = 0.5 * torch.sum(z**2, 1) - log_jac_det
        loss = loss.mean() / N_DIM
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# %%
# Run it on both, from the same initial weights: ``inn`` loads FrEIA's ``state_dict`` (the keys
# are FrEIA's). FrEIA 0.2 clamps ``AllInOneBlock``'s scales with :math:`\alpha \tanh(a)`, a bug
# FrEIA fixed later; the option ``legacy_clamp=True`` selects that formula, so both runs compute
# the same function. (Without it, the program runs unchanged and trains just as well, with the
# corrected clamp.)

torch.manual_seed(0)
freia_net = build(freia_framework, freia_modules)
inn_net = build(inn.framework, inn.modules, legacy_clamp=True)
inn_net.load_state_dict(freia_net.state_dict())

curves, seconds = {}, {}
for name, net in [("FrEIA 0.2", freia_net), ("inn", inn_net)]:
    start = time.perf_counter()
    curves[name] = train(net)
    seconds[name] = time.perf_counter() - start
    print(f"{name}: final loss {curves[name][-1]:.4f}, "
          f"{1e3 * seconds[name] / STEPS:.2f} ms per training step")

fig, ax = plt.subplots(figsize=(6, 3))
for name, losses in curves.items():
    ax.plot(losses, label=name, linestyle="-" if name == "inn" else "--")
ax.set_xlabel("step")
ax.set_ylabel("loss (nats per dimension)")
ax.legend()
fig.tight_layout()

# %%
# The two curves lie on top of each other: the same weights, batches and maths give the same
# losses, up to float32 rounding that training slowly amplifies. Step times on this page come
# from the machine that built it; ``benchmarks/glow.py`` measures the ratio properly.
#
# The FrEIA-trained network and the ``inn``-trained one give samples from the same model:

z = torch.randn(2000, N_DIM)
with torch.no_grad():
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), sharex=True, sharey=True)
    for ax, (name, net) in zip(axes, [("FrEIA 0.2", freia_net), ("inn", inn_net)], strict=True):
        samples, _ = net(z, rev=True)
        ax.scatter(*samples.T, s=1, alpha=0.5)
        ax.set_title(f"samples, trained with {name}")
fig.tight_layout()

# %%
# Checkpoints
# -----------
# A ``state_dict`` saved by FrEIA loads into the same architecture built with ``inn`` and gives
# the same outputs:

inn_copy = build(inn.framework, inn.modules, legacy_clamp=True)
inn_copy.load_state_dict(freia_net.state_dict())
x = batches[0]
with torch.no_grad():
    (z_freia, ljd_freia), (z_inn, ljd_inn) = freia_net(x), inn_copy(x)
print("largest difference of z:", float((z_freia - z_inn).abs().max()))
print("largest difference of log|det J|:", float((ljd_freia - ljd_inn).abs().max()))

# %%
# What changes: errors
# --------------------
# ``inn`` checks inputs before any tensor flows and names the block and both shapes. FrEIA runs
# until something deep inside fails. A batch of 3-d points fed to the 2-d network:

wrong = torch.randn(4, 3)
for name, net in [("FrEIA 0.2", freia_net), ("inn", inn_net)]:
    try:
        net(wrong)
    except Exception as error:  # any error: the point is to show the messages
        print(f"{name}: {type(error).__name__}: {error}")

# %%
# ``inn``'s errors derive from the builtins FrEIA raises (here ``ValueError`` and
# ``RuntimeError``), so ``except`` clauses written for FrEIA still catch them. Validation costs a
# few microseconds per call; ``inn.set_validation(False)`` switches it off for a hot loop.
