"""A conditional flow: one ``inn.flows.RealNVP`` for a family of densities indexed by ``c``.

The data are two moons rotated by an angle; the flow gets ``c = (cos, sin)`` of the angle as
context, learns ``p(x | c)``, and samples for angles it has never seen. Run
``python examples/conditional_flow.py`` (about 30 seconds); ``--epochs 1`` is a smoke test.
"""

import argparse
import math

import torch

import inn
from inn import datasets


def rotated_moons(n, generator):
    angle = 2 * math.pi * torch.rand(n, generator=generator)
    cos, sin = torch.cos(angle), torch.sin(angle)
    x = datasets.moons(n, seed=generator)
    rotated = torch.stack([cos * x[:, 0] - sin * x[:, 1], sin * x[:, 0] + cos * x[:, 1]], 1)
    return rotated, torch.stack([cos, sin], dim=1)


def main(epochs=20, n_train=10000, seed=0):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x, c = rotated_moons(n_train, generator)
    x_test, c_test = rotated_moons(2000, generator)
    flow = inn.flows.RealNVP(2, context=2, transforms=6, hidden_features=(64, 64))
    history = flow.fit((x, c), epochs=epochs, batch_size=256, lr=2e-3,
                       val_data=(x_test, c_test), progress=False)
    with torch.no_grad():
        right = -flow.log_prob(x_test, c_test).mean().item()
        quarter = torch.stack([-c_test[:, 1], c_test[:, 0]], dim=1)  # the angle + pi/2
        wrong = -flow.log_prob(x_test, quarter).mean().item()
        unseen = torch.tensor([[math.cos(1.0), math.sin(1.0)]]).repeat(500, 1)
        samples = flow.sample(500, c=unseen)
    print(f"test NLL with the right angle {right:.3f}, a quarter turn off {wrong:.3f}")
    return history, right, wrong, samples


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    main(epochs=parser.parse_args().epochs)
