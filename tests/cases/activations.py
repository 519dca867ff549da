"""Registry entries of elementwise activations and learned elementwise scaling."""

import warnings
from functools import partial

import inn.modules as Fm

from .case import Case


def _inv_auto_act_fixed(dims, **kwargs):
    """The deprecated alias, built without letting its warning flood the test log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Fm.InvAutoActFixed(dims, **kwargs)


CASES = {
    # No parameters; Inverse(sigmoid) gets the forward outputs, which lie in (0, 1).
    "sigmoid": Case(partial(Fm.InvertibleSigmoid, [(5,)]), perturb=None),
    "sigmoid_image": Case(partial(Fm.InvertibleSigmoid, [(2, 3, 4)]), perturb=None),
    "inv_auto_act": Case(partial(Fm.InvAutoAct, [(5,)])),
    "inv_auto_act_image": Case(partial(Fm.InvAutoAct, [(3, 4, 4)], slope_init=0.7)),
    "inv_auto_act_frozen": Case(partial(Fm.InvAutoAct, [(4,)], learnable=False)),
    "inv_auto_act_fixed": Case(partial(_inv_auto_act_fixed, [(4,)])),
    "inv_auto_act_two_sided": Case(partial(Fm.InvAutoActTwoSided, [(5,)])),
    "inv_auto_act_two_sided_image": Case(partial(Fm.InvAutoActTwoSided, [(2, 3, 3)],
                                                 init_pos=0.5, init_neg=3.0)),
    "learned_scaling": Case(partial(Fm.LearnedElementwiseScaling, [(5,)], init_scale=2.0)),
    "learned_scaling_image": Case(partial(Fm.LearnedElementwiseScaling, [(2, 3, 3)])),
}
