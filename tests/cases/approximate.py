"""Registry entries of the approximately invertible layers, at configurations where they are exact.

``IResNetLayer`` inverts by a fixed-point iteration (exact to machine precision for a small
Lipschitz constant) and estimates its log-det stochastically (Hutchinson probes). The estimate is
exact, whatever the probes, when the Jacobian of the residual branch is diagonal: the perturbation
below keeps every weight (rectangular-)diagonal, or the data is one-dimensional. The semantic
tests in ``tests/modules/test_approximate.py`` cover full weights and the stochastic estimate.

``InvAutoFC`` / ``InvAutoConv2D`` invert with the transposed weight and report log-det 0, which is
exact for an orthogonal weight (a 1x1 or centre-tap-only kernel for the convolution); the
perturbation keeps the weight orthogonal in the module's dtype.
"""

from functools import partial

import torch

import inn.modules as Fm

from .case import Case, default_perturb

# 40 terms of the log-det series: the truncation error |d|^41 / 41 stays below 1e-13 for the
# per-layer gains <= 0.8 used here (product <= 0.512), well inside the 1e-9 contract tolerance.
TERMS = 40


def perturb_diagonal(module, generator):
    """Random biases; weights zero except signed diagonal entries of size 0.2 to 0.8."""
    with torch.no_grad():
        for layer in module.layers:
            w = layer.weight
            centre = tuple(k // 2 for k in w.shape[2:])
            n = min(w.shape[0], w.shape[1])
            size = 0.2 + 0.6 * torch.rand(n, generator=generator, dtype=w.dtype)
            sign = torch.randint(0, 2, (n,), generator=generator).to(w.dtype) * 2 - 1
            w.zero_()
            w[(torch.arange(n), torch.arange(n), *centre)] = size * sign
            layer.bias.copy_(0.3 * torch.randn(layer.bias.shape, generator=generator,
                                               dtype=w.dtype))


def perturb_then_correct(module, generator):
    """Full random weights, then the layer's own Lipschitz correction (in float64)."""
    default_perturb(module, generator)
    module.lipschitz_correction()


def perturb_orthogonal(module, generator):
    """Random bias; an orthogonal weight (QR in the module's dtype) in the centre tap only."""
    with torch.no_grad():
        module.bias.add_(0.3 * torch.randn(module.bias.shape, generator=generator,
                                           dtype=module.bias.dtype))
        w = module.weights if isinstance(module, Fm.InvAutoFC) else module.conv2d.weight
        q, _ = torch.linalg.qr(torch.randn(w.shape[:2], generator=generator, dtype=w.dtype))
        centre = tuple(k // 2 for k in w.shape[2:])
        w.zero_()
        w[(slice(None), slice(None), *centre)] = q


CASES = {
    "iresnet": Case(partial(Fm.IResNetLayer, [(4,)], jacobian_iterations=TERMS),
                    perturb=perturb_diagonal),
    "iresnet_two_probes_deep": Case(partial(
        Fm.IResNetLayer, [(3,)], internal_size=5, n_internal_layers=2, hutchinson_samples=2,
        jacobian_iterations=TERMS), perturb=perturb_diagonal),
    "iresnet_image": Case(partial(Fm.IResNetLayer, [(2, 4, 4)], jacobian_iterations=TERMS),
                          perturb=perturb_diagonal),
    "iresnet_signal": Case(partial(Fm.IResNetLayer, [(2, 5)], jacobian_iterations=TERMS),
                           perturb=perturb_diagonal),
    # One feature: the Jacobian is a scalar, so one sign probe is exact with full weights.
    "iresnet_scalar_full_weights": Case(partial(
        Fm.IResNetLayer, [(1,)], internal_size=3, jacobian_iterations=TERMS,
        spectral_norm_max=0.5, lipschitz_iterations=50), perturb=perturb_then_correct),
    "invauto_fc": Case(partial(Fm.InvAutoFC, [(5,)]), perturb=perturb_orthogonal),
    "invauto_conv": Case(partial(Fm.InvAutoConv2D, [(3, 4, 4)]), perturb=perturb_orthogonal),
    "invauto_conv_1x1": Case(partial(Fm.InvAutoConv2D, [(2, 3, 5)], kernel_size=1, padding=0),
                             perturb=perturb_orthogonal),
}
