"""Glow on sklearn's 8x8 digits: dequantisation, logit, bits per dimension, a grid of samples.

The network is ``inn.flows.Glow`` (multiscale: Haar squeeze, ActNorm, invertible 1x1
convolution, affine coupling, split-offs with their own base terms) behind inn's data transforms
(uniform dequantisation of the 17 grey levels, logit with alpha = 0.05), whose exact log-dets
make ``log_prob`` the dequantised log-likelihood of the raw digits. Run
``python examples/glow_digits.py`` (a few minutes on 2 CPU cores; needs scikit-learn and
matplotlib); ``--iterations 5`` is a smoke test. Writes ``glow_digits_samples.png``.
"""

import argparse

import torch

import inn
from inn import datasets
from inn.modules import LogitTransform, UniformDequantization

LEVELS = 17


def preprocessing():
    net = inn.SequenceINN(1, 8, 8)
    net.append(UniformDequantization, levels=LEVELS)
    net.append(LogitTransform, alpha=0.05)
    return net


def main(iterations=1500, batch_size=128, out="glow_digits_samples.png", seed=0, **glow):
    torch.manual_seed(seed)
    train, test = datasets.digits("train"), datasets.digits("test")
    prep = preprocessing()
    flow = inn.flows.Glow((1, 8, 8), **{"levels": 3, "steps": 4, "hidden_channels": 64, **glow})
    optimizer = torch.optim.Adam(flow.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)

    def bits_per_dim(levels):
        w, log_det = prep(levels)  # dequantise (fresh noise) and logit, with log-dets
        return inn.bits_per_dim(flow.log_prob(w) + log_det, (1, 8, 8)).mean()

    with torch.no_grad():
        start = bits_per_dim(test).item()
    for _ in range(iterations):
        batch = train[torch.randint(len(train), (batch_size,), generator=generator)]
        loss = bits_per_dim(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    flow.eval()
    with torch.no_grad():
        end = bits_per_dim(test).item()
        w = flow.sample(36)
        images, _ = prep(w, rev=True, jac=False)  # back to grey levels 0..16
    print(f"test bits/dim: {start:.3f} -> {end:.3f}")
    if out:
        import matplotlib

        matplotlib.use("Agg")
        from inn.plot import samples_grid

        samples_grid(images, nrow=6).figure.savefig(out, dpi=100)
        print(f"wrote {out}")
    return start, end, images


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1500)
    main(iterations=parser.parse_args().iterations)
