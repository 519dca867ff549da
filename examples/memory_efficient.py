"""Train a deep conditional multiscale INN with ``memory_efficient=True``.

The data are 1x16x16 images of a Gaussian blob whose position depends on a class label (one of
four quadrants). The network squeezes the image to 4x8x8, runs ``depth`` steps of ActNorm, a
conditional GLOW coupling with a small conv subnet and a channel permutation, splits half of the
channels off to an early exit, squeezes again and runs ``depth // 2`` more steps. The condition
is a 2x8x8 map computed from the one-hot label by a conditioning network outside the INN,
trained jointly with it.

With ``memory_efficient=True`` the forward pass keeps only the outputs and the condition, and
backward rebuilds every block's input by inverting it: the tensors saved for backward do not grow
with depth. The script prints them for both modes, checks once with
:class:`inn.backprop.check_recomputation` that the rebuilt inputs match the true ones, trains by
maximum likelihood and checks that the trained network still inverts.

Run ``python examples/memory_efficient.py`` (about a minute on 2 CPU cores), or with
``--steps 10 --depth 4`` for a smoke test.
"""

import argparse
import math

import torch
import torch.nn as nn

import inn.framework as Ff
import inn.modules as Fm
from inn.backprop import check_recomputation

CLASSES = 4


def sample_images(n, generator):
    """``n`` blob images ``(n, 1, 16, 16)`` and their one-hot labels ``(n, 4)``."""
    labels = torch.randint(0, CLASSES, (n,), generator=generator)
    centres = torch.stack([4 + 8 * (labels // 2), 4 + 8 * (labels % 2)], 1).float()
    centres = centres + torch.randn(n, 2, generator=generator)
    grid = torch.arange(16.0)
    rows = (grid.view(1, 16, 1) - centres[:, 0].view(n, 1, 1)) ** 2
    cols = (grid.view(1, 1, 16) - centres[:, 1].view(n, 1, 1)) ** 2
    images = torch.exp(-(rows + cols) / 8) + 0.05 * torch.randn(n, 16, 16, generator=generator)
    return images.unsqueeze(1), nn.functional.one_hot(labels, CLASSES).float()


def subnet(c_in, c_out):
    """Coupling subnet: 3x3 conv, ReLU, 3x3 conv starting at zero (blocks start as identity)."""
    net = nn.Sequential(nn.Conv2d(c_in, 32, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(32, c_out, 3, padding=1))
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


def build(depth, memory_efficient=True):
    """The INN (a GraphINN) and the conditioning network."""
    x = Ff.InputNode(1, 16, 16, name="image")
    c = Ff.ConditionNode(2, 8, 8, name="label map")
    nodes = [x, c, Ff.Node(x, Fm.IRevNetDownsampling, {}, name="squeeze 1")]
    for k in range(depth):
        nodes.append(Ff.Node(nodes[-1], Fm.ActNorm, {}, name=f"actnorm {k}"))
        nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock, {"subnet_constructor": subnet},
                             conditions=c, name=f"coupling {k}"))
        nodes.append(Ff.Node(nodes[-1], Fm.PermuteRandom, {"seed": k}, name=f"permute {k}"))
    split = Ff.Node(nodes[-1], Fm.Split, {"section_sizes": [2, 2]}, name="split")
    exit_ = Ff.OutputNode(split.out0, name="early exit")
    nodes += [split, Ff.Node(split.out1, Fm.IRevNetDownsampling, {}, name="squeeze 2")]
    for k in range(depth // 2):
        nodes.append(Ff.Node(nodes[-1], Fm.ActNorm, {}, name=f"actnorm 2.{k}"))
        nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock, {"subnet_constructor": subnet},
                             name=f"coupling 2.{k}"))
        nodes.append(Ff.Node(nodes[-1], Fm.PermuteRandom, {"seed": 100 + k},
                             name=f"permute 2.{k}"))
    nodes += [exit_, Ff.OutputNode(nodes[-1], name="z")]
    inn_net = Ff.GraphINN(nodes, memory_efficient=memory_efficient)
    conditioner = nn.Sequential(nn.Linear(CLASSES, 2 * 8 * 8), nn.Unflatten(1, (2, 8, 8)))
    return inn_net, conditioner


def nll(inn_net, conditioner, images, labels):
    """Negative log-likelihood per dimension (nats) under a standard normal latent."""
    (z_exit, z), log_jac_det = inn_net(images, c=conditioner(labels))
    squares = 0.5 * (z_exit.square().flatten(1).sum(1) + z.square().flatten(1).sum(1))
    dims = images[0].numel()
    return (squares - log_jac_det).mean() / dims + 0.5 * math.log(2 * math.pi)


def saved_bytes(inn_net, conditioner, images, labels):
    """Bytes the INN's forward pass saves for backward (distinct storages, no parameters)."""
    own = {p.untyped_storage().data_ptr() for p in inn_net.parameters()}
    storages = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in own:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    condition = conditioner(labels)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        inn_net(images, c=condition)
    return sum(storages.values())


def main(steps=150, depth=12, batch_size=64, lr=2e-3):
    """Train; return the loss history, the saved bytes of both modes and the inversion error."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    inn_net, conditioner = build(depth)
    images, labels = sample_images(batch_size, generator)
    with torch.no_grad():  # ActNorm's data-dependent initialisation
        inn_net(images, c=conditioner(labels))

    inn_net.memory_efficient = False
    standard = saved_bytes(inn_net, conditioner, images, labels)
    inn_net.memory_efficient = True
    efficient = saved_bytes(inn_net, conditioner, images, labels)
    print(f"saved for backward: standard {standard / 2**20:.2f} MiB, "
          f"memory_efficient {efficient / 2**20:.2f} MiB")

    with check_recomputation(rtol=1e-3) as report:  # once, to debug: keeps the true inputs
        nll(inn_net, conditioner, images, labels).backward()
    print(f"rebuilt the inputs of {len(report.blocks)} blocks, max relative error "
          f"{report.max_relative_error:.1e}")

    parameters = list(inn_net.parameters()) + list(conditioner.parameters())
    optimizer = torch.optim.Adam(parameters, lr=lr)
    history = []
    for step in range(steps):
        images, labels = sample_images(batch_size, generator)
        optimizer.zero_grad()
        loss = nll(inn_net, conditioner, images, labels)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            print(f"step {step:4d}  NLL {loss.item():.3f} nats/dim")

    with torch.no_grad():
        images, labels = sample_images(8, generator)
        condition = conditioner(labels)
        z, _ = inn_net(images, c=condition)
        rebuilt, _ = inn_net(list(z), c=condition, rev=True)
    error = float((rebuilt - images).abs().max())
    print(f"inversion error after training: {error:.1e}")
    return history, standard, efficient, error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    main(steps=args.steps, depth=args.depth, batch_size=args.batch_size)
