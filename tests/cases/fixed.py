"""Registry entries of fixed linear maps, orthogonal maps and Householder permutations."""

from functools import partial

import torch

import inn.modules as Fm
from inn.modules.orthogonal import orthonormalize_rows

from .case import Case


def _well_conditioned(size):
    """A random invertible matrix, far from singular (drawn from the seeded global RNG)."""
    return torch.randn(size, size) + 3 * torch.eye(size)


def perturb_orthogonal(module, generator):
    """Move bias and scaling, and rotate ``weights`` while keeping it exactly orthogonal.

    The module's inverse is ``W.T``, which is exact only for an orthogonal ``W``; a float32
    ``W`` cast to float64 is orthogonal only to ~1e-7, so the rotated matrix is re-orthonormalised
    in the module's dtype (what the module's own correction does during training).
    """
    with torch.no_grad():
        for p in (module.bias, module.scaling):
            p.add_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        w = module.weights
        rotation, _ = torch.linalg.qr(torch.randn(w.shape, generator=generator, dtype=w.dtype))
        w.copy_(orthonormalize_rows(w @ rotation))


CASES = {
    "fixed_linear": Case(lambda: Fm.FixedLinearTransform(
        [(4,)], M=_well_conditioned(4), b=torch.randn(4)), perturb=None),
    "fixed_linear_no_bias": Case(lambda: Fm.FixedLinearTransform(
        [(3,)], M=_well_conditioned(3)), perturb=None),
    "fixed_1x1_conv": Case(lambda: Fm.Fixed1x1Conv(
        [(3, 4, 2)], M=_well_conditioned(3)), perturb=None),
    "orthogonal": Case(partial(Fm.OrthogonalTransform, [(5,)]), perturb=perturb_orthogonal),
    "orthogonal_clamp": Case(partial(Fm.OrthogonalTransform, [(3,)], clamp=0.5,
                                     correction_interval=4), perturb=perturb_orthogonal),
    "householder": Case(partial(Fm.HouseholderPerm, [(5,)], n_reflections=3)),
    "householder_more_than_dims": Case(partial(Fm.HouseholderPerm, [(3,)], n_reflections=7)),
    # Random reflections drawn once: no parameters to perturb.
    "householder_fixed": Case(partial(Fm.HouseholderPerm, [(4,)], n_reflections=3, fixed=True),
                              perturb=None),
    "householder_cond": Case(partial(Fm.HouseholderPerm, [(4,)], [(8,)], n_reflections=2),
                             perturb=None),
    "householder_cond_matrix": Case(partial(Fm.HouseholderPerm, [(3,)], [(3, 4)],
                                            n_reflections=4), perturb=None),
}
