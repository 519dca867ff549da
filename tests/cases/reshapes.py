"""Registry entries of the volume-preserving reshapes: i-RevNet, Haar, Flatten, Reshape."""

from functools import partial

import inn.modules as Fm

from .case import Case

# Reshapes have no parameters (their kernels are fixed buffers): nothing to perturb.
CASES = {
    "irevnet_down": Case(partial(Fm.IRevNetDownsampling, [(3, 4, 6)]), perturb=None),
    "irevnet_down_legacy": Case(partial(Fm.IRevNetDownsampling, [(3, 4, 6)],
                                        legacy_backend=True), perturb=None),
    "irevnet_up": Case(partial(Fm.IRevNetUpsampling, [(8, 2, 3)]), perturb=None),
    "irevnet_up_legacy": Case(partial(Fm.IRevNetUpsampling, [(8, 3, 2)], legacy_backend=True),
                              perturb=None),
    "haar_down": Case(partial(Fm.HaarDownsampling, [(3, 4, 6)]), perturb=None),
    "haar_down_by_wavelet": Case(partial(Fm.HaarDownsampling, [(3, 4, 2)],
                                         order_by_wavelet=True), perturb=None),
    "haar_down_rebalance": Case(partial(Fm.HaarDownsampling, [(2, 4, 4)], rebalance=0.5),
                                perturb=None),
    "haar_down_by_wavelet_negative_rebalance": Case(partial(
        Fm.HaarDownsampling, [(2, 2, 4)], order_by_wavelet=True, rebalance=-1.7), perturb=None),
    "haar_up": Case(partial(Fm.HaarUpsampling, [(8, 2, 3)]), perturb=None),
    "haar_up_by_wavelet_rebalance": Case(partial(Fm.HaarUpsampling, [(4, 3, 2)],
                                                 order_by_wavelet=True, rebalance=2.5),
                                         perturb=None),
    "flatten": Case(partial(Fm.Flatten, [(5,)]), perturb=None),
    "flatten_image": Case(partial(Fm.Flatten, [(2, 3, 4)]), perturb=None),
    "flatten_signal": Case(partial(Fm.Flatten, [(3, 4)]), perturb=None),
    "reshape": Case(partial(Fm.Reshape, [(12,)], output_dims=(3, 2, 2)), perturb=None),
    "reshape_image": Case(partial(Fm.Reshape, [(2, 4, 4)], output_dims=(8, 4)), perturb=None),
}
