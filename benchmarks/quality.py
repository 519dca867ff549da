"""Density quality: inn's presets against zuko's and normflows' flows at equal parameter budgets.

Every model is trained with the same data, optimiser (Adam, cosine-annealed learning rate),
batch size and number of steps, under 3 seeds, and scored by its test NLL (nats per point on the
2-d toys; bits per dimension on sklearn's digits, uniformly dequantised, scaled to [0, 1] and
logit-transformed with inn's data transforms, whose exact log-dets enter every model's score
alike). Before training, each model's hidden width is chosen so that its parameter count is
within 10% of the dataset's budget (the counts are printed). Glow is compared with normflows'
Glow (same levels, steps, hidden channels) on digits.

Models (4 layers each on vectors):
  inn:       RealNVP, NSF (coupling; default bound 5, and bound=4), MAF
             (--extra: NSF autoregressive)
  zuko:      RealNVP, NSF (autoregressive spline), MAF
  normflows: RealNVP (affine coupling + swap), NSF (coupled RQ spline)   (--extra: MAF)

Run ``python benchmarks/quality.py --mode quick`` (under a minute) or ``--mode full``; ``--out
FILE`` writes the table as Markdown, ``--datasets`` / ``--models`` pick a subset (to split the
full run over processes). The full run measured 105 min of single-thread compute on the shared
2-core VM under heavy contention (split in two processes: 55 min wall); the same runs took about
a third of that time when the machine was quiet.
"""

import argparse
import platform
import statistics
import time
from datetime import datetime, timezone

import torch
import torch.nn as nn

import inn
from inn import datasets, flows
from inn.modules import LogitTransform, UniformDequantization, bits_per_dim

LAYERS = 4
LR = 2e-3
BOUND = 5.0
BINS = 8
LOGIT_ALPHA = 0.05
DIGIT_LEVELS = 17
MODES = {
    # steps, seeds, datasets, train size
    "quick": (60, 1, ["moons", "digits"], 2000),
    "full": (400, 3, ["moons", "circles", "checkerboard", "eight_gaussians", "digits"], 10000),
}
BUDGET = {"toy": 20_000, "digits": 100_000}
GLOW = {"quick": dict(levels=2, steps=1, hidden_channels=16),
        "full": dict(levels=3, steps=4, hidden_channels=48)}


# ---------------------------------------------------------------- models (width -> log_prob)
def inn_model(kind, bound=BOUND):
    def build(features, width):
        hidden = (width, width)
        if kind == "RealNVP":
            return flows.RealNVP(features, transforms=LAYERS, hidden_features=hidden)
        if kind == "NSF":
            return flows.NSF(features, transforms=LAYERS, hidden_features=hidden, bins=BINS,
                             bound=bound)
        if kind == "NSF-AR":
            return flows.NSF(features, transforms=LAYERS, hidden_features=hidden, bins=BINS,
                             bound=BOUND, autoregressive=True)
        return flows.MAF(features, transforms=LAYERS, hidden_features=hidden)
    return build


class ZukoModel(nn.Module):
    def __init__(self, flow):
        super().__init__()
        self.flow = flow

    def log_prob(self, x):
        return self.flow().log_prob(x)


def zuko_model(kind):
    import zuko

    def build(features, width):
        hidden = (width, width)
        if kind == "RealNVP":
            flow = zuko.flows.RealNVP(features, transforms=LAYERS, hidden_features=hidden)
        elif kind == "NSF":
            flow = zuko.flows.NSF(features, transforms=LAYERS, hidden_features=hidden,
                                  bins=BINS)
        else:
            flow = zuko.flows.MAF(features, transforms=LAYERS, hidden_features=hidden)
        return ZukoModel(flow)
    return build


def normflows_model(kind):
    import normflows as nf

    def build(features, width):
        layers = []
        for k in range(LAYERS):
            if kind == "RealNVP":
                net = nf.nets.MLP([features - features // 2, width, width,
                                   2 * (features // 2)], init_zeros=True)
                layers += [nf.flows.AffineCouplingBlock(net), nf.flows.Permute(features, "swap")]
            elif kind == "NSF":
                layers += [nf.flows.CoupledRationalQuadraticSpline(
                    features, 2, width, num_bins=BINS, tail_bound=BOUND, reverse_mask=k % 2 == 1)]
            else:
                layers += [nf.flows.MaskedAffineAutoregressive(features, width, num_blocks=2),
                           nf.flows.Permute(features, "swap" if features == 2 else "shuffle")]
        base = nf.distributions.DiagGaussian(features, trainable=False)
        return nf.NormalizingFlow(base, layers)
    return build


VECTOR_MODELS = {
    "inn RealNVP": inn_model("RealNVP"), "inn NSF": inn_model("NSF"),
    "inn NSF bound=4": inn_model("NSF", bound=4.0), "inn MAF": inn_model("MAF"),
    "zuko RealNVP": zuko_model("RealNVP"), "zuko NSF": zuko_model("NSF"),
    "zuko MAF": zuko_model("MAF"),
    "normflows RealNVP": normflows_model("RealNVP"), "normflows NSF": normflows_model("NSF"),
}
# Not in the default run (CPU budget): normflows' MAF evaluates densities in its sequential
# direction (64 MADE passes per layer on digits) and inn's autoregressive NSF; --extra adds them.
EXTRA_MODELS = {"inn NSF-AR": inn_model("NSF-AR"), "normflows MAF": normflows_model("MAF")}


def count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def match_budget(build, features, budget):
    """The width whose model is closest to ``budget`` parameters (within 10%)."""
    low, high = 2, 2048
    while high - low > 1:
        mid = (low + high) // 2
        if count(build(features, mid)) <= budget:
            low = mid
        else:
            high = mid
    width = min((low, high), key=lambda w: abs(count(build(features, w)) - budget))
    params = count(build(features, width))
    if abs(params - budget) > 0.1 * budget:
        raise RuntimeError(f"cannot match the budget {budget}: {params} parameters")
    return width, params


class Unlabelled(nn.Module):
    """normflows' MultiscaleFlow.log_prob takes class labels; these models have none."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def log_prob(self, x):
        return self.model.log_prob(x, None)


def glow_models(mode):
    import normflows as nf

    cfg = GLOW[mode]

    def inn_glow():
        return inn.flows.Glow((1, 8, 8), **cfg)

    def normflows_glow():
        levels, steps, hidden = cfg["levels"], cfg["steps"], cfg["hidden_channels"]
        q0, merges, blocks = [], [], []
        for i in range(levels):
            level = [nf.flows.GlowBlock(2 ** (levels + 1 - i), hidden, split_mode="channel",
                                        scale=True) for _ in range(steps)]
            blocks.append([*level, nf.flows.Squeeze()])
            if i > 0:
                merges.append(nf.flows.Merge())
                shape = (2 ** (levels - i), 8 // 2 ** (levels - i), 8 // 2 ** (levels - i))
            else:
                shape = (2 ** (levels + 1), 8 // 2 ** levels, 8 // 2 ** levels)
            q0.append(nf.distributions.DiagGaussian(shape, trainable=False))
        return Unlabelled(nf.MultiscaleFlow(q0, blocks, merges, class_cond=False))

    return {"inn Glow": inn_glow, "normflows Glow": normflows_glow}


# ---------------------------------------------------------------- data
class DigitsPreprocessing:
    """Dequantise, scale to [0, 1] and logit-transform digits with inn's exact data transforms."""

    def __init__(self):
        self.net = inn.SequenceINN(64)
        self.net.append(UniformDequantization, levels=DIGIT_LEVELS)
        self.net.append(LogitTransform, alpha=LOGIT_ALPHA)

    def __call__(self, levels, generator=None):
        """Returns ``(w, log_det)``; fresh noise (from the global RNG) in training mode."""
        self.net.train(generator is None)
        with torch.no_grad():
            if generator is not None:  # a fixed dequantisation of the test set
                noise = torch.rand(levels.shape, generator=generator)
                w, log_det = self.net(levels + noise - 0.5)
                return w, log_det
            return self.net(levels)


def load(name, n_train, seed):
    if name == "digits":
        train = datasets.digits("train", seed=0).flatten(1)
        test = datasets.digits("test", seed=0).flatten(1)
        return train, test
    return datasets.toy(name, n_train, seed=seed), datasets.toy(name, 5000, seed=1000 + seed)


# ---------------------------------------------------------------- training
def train_and_score(model, train, test, steps, seed, prep=None, reshape=None):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    shape = reshape or (lambda x: x)
    for _ in range(steps):
        batch = train[torch.randint(len(train), (256,), generator=generator)]
        offset = 0.0
        if prep is not None:
            batch, offset = prep(batch)
        loss = -(model.log_prob(shape(batch)) + offset).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        schedule.step()
    model.eval()
    with torch.no_grad():
        if prep is None:
            return -model.log_prob(test).mean().item()
        w, offset = prep(test, torch.Generator().manual_seed(7))
        return bits_per_dim(model.log_prob(shape(w)) + offset, 64).mean().item()


def main(mode="quick", out=None, only=None, extra=False, model_names=None):
    torch.set_num_threads(1)
    steps, seeds, names, n_train = MODES[mode]
    names = [n for n in names if only is None or n in only]
    models = {**VECTOR_MODELS, **(EXTRA_MODELS if extra else {})}
    if model_names:
        models = {k: v for k, v in models.items() if k in model_names}
    results, params = {}, {}
    prep = DigitsPreprocessing()
    for name in names:
        train, test = load(name, n_train, 0)
        features = train.shape[1]
        budget = BUDGET["digits" if name == "digits" else "toy"]
        if mode == "quick":
            budget //= 4
        for model_name, build in models.items():
            width, n_params = match_budget(build, features, budget)
            params[(name, model_name)] = (width, n_params)
            for seed in range(seeds):
                train, test = load(name, n_train, seed)
                torch.manual_seed(seed)
                start = time.perf_counter()
                score = train_and_score(build(features, width), train, test, steps, seed,
                                        prep if name == "digits" else None)
                results.setdefault((name, model_name), []).append(score)
                print(f"{name:16s} {model_name:18s} width {width:4d} params {n_params:7d} "
                      f"seed {seed}: {score:.4f} ({time.perf_counter() - start:.1f} s)",
                      flush=True)
        if name == "digits" and not model_names:
            train, test = load(name, n_train, 0)
            for model_name, build in glow_models(mode).items():
                params[(name, model_name)] = ("-", count(build()))
                for seed in range(seeds):
                    torch.manual_seed(seed)
                    start = time.perf_counter()
                    score = train_and_score(build(), train, test, steps, seed, prep,
                                            reshape=lambda x: x.reshape(-1, 1, 8, 8))
                    results.setdefault((name, model_name), []).append(score)
                    print(f"{name:16s} {model_name:18s} params {count(build()):7d} "
                          f"seed {seed}: {score:.4f} ({time.perf_counter() - start:.1f} s)",
                          flush=True)
    table = render(results, params, names, mode, steps, seeds)
    print(table)
    if out:
        with open(out, "w") as handle:
            handle.write(table)
    return results


def render(results, params, names, mode, steps, seeds):
    machine = platform.processor() or platform.machine()
    lines = [f"Test NLL (nats/point; digits: bits/dim), mean ± std over {seeds} seed(s), "
             f"{steps} steps, batch 256, Adam {LR} cosine. Mode {mode}; {machine}, 1 thread, "
             f"torch {torch.__version__}, {datetime.now(timezone.utc):%Y-%m-%d}.", "",
             "| dataset | model | params | test NLL |", "|---|---|---|---|"]
    for name in names:
        rows = [(k[1], v) for k, v in results.items() if k[0] == name]
        best = min(statistics.mean(v) for _, v in rows)
        for model_name, values in rows:
            mean = statistics.mean(values)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            mark = " **best**" if mean == best else ""
            lines.append(f"| {name} | {model_name} | {params[(name, model_name)][1]} | "
                         f"{mean:.4f} ± {std:.4f}{mark} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--out", default=None)
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--extra", action="store_true")
    parser.add_argument("--models", nargs="*", default=None, help="only these (vector) models")
    args = parser.parse_args()
    main(args.mode, args.out, args.datasets, args.extra, args.models)
