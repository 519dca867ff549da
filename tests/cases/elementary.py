"""Registry entries of the elementary learned transforms: ElementwiseAffine, InvertibleLinear."""

from functools import partial

import inn.modules as Fm

from .case import Case

# The default perturbation (+0.3 * randn on every float parameter) keeps both modules valid:
# log-scales, shifts, triangular entries and Householder vectors are unconstrained, and the
# fixed permutation and signs are buffers.
CASES = {
    "elementwise_affine": Case(partial(Fm.ElementwiseAffine, [(5,)])),
    "elementwise_affine_image": Case(partial(Fm.ElementwiseAffine, [(3, 4, 4)])),
    "elementwise_affine_per_channel": Case(partial(Fm.ElementwiseAffine, [(3, 4, 4)],
                                                   per_channel=True)),
    "elementwise_affine_init": Case(partial(Fm.ElementwiseAffine, [(4,)], init_scale=0.5,
                                            init_shift=1.5)),
    "invertible_linear_lu": Case(partial(Fm.InvertibleLinear, [(5,)], seed=1)),
    "invertible_linear_lu_image": Case(partial(Fm.InvertibleLinear, [(3, 4, 4)], seed=2)),
    "invertible_linear_lu_sequence": Case(partial(Fm.InvertibleLinear, [(3, 5)], seed=3)),
    "invertible_linear_qr": Case(partial(Fm.InvertibleLinear, [(5,)], parameterization="qr",
                                         seed=4)),
    "invertible_linear_qr_image": Case(partial(Fm.InvertibleLinear, [(4, 3, 3)],
                                               parameterization="qr", seed=5)),
    "invertible_linear_no_bias": Case(partial(Fm.InvertibleLinear, [(4,)], bias=False)),
    "invertible_linear_qr_no_bias": Case(partial(Fm.InvertibleLinear, [(4, 2, 2)],
                                                 parameterization="qr", bias=False)),
    "invertible_linear_identity": Case(partial(Fm.InvertibleLinear, [(4,)], init="identity")),
    # Odd C: the identity needs the fixed signs of R (C reflections have determinant -1).
    "invertible_linear_qr_identity": Case(partial(Fm.InvertibleLinear, [(3,)],
                                                  parameterization="qr", init="identity")),
}
