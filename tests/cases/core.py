"""Registry entries of the core issue: FrEIA's affine couplings and their companions."""

from functools import partial

import inn.modules as Fm

from .case import Case, conv_subnet, mlp_subnet

CASES = {}
for _name, _cls in [("nice", Fm.NICECouplingBlock), ("rnvp", Fm.RNVPCouplingBlock),
                    ("glow", Fm.GLOWCouplingBlock)]:
    CASES[f"{_name}"] = Case(lambda cls=_cls: cls([(6,)], subnet_constructor=mlp_subnet))
    CASES[f"{_name}_odd_split"] = Case(
        lambda cls=_cls: cls([(5,)], subnet_constructor=mlp_subnet, split_len=0.5))
    CASES[f"{_name}_int_split"] = Case(
        lambda cls=_cls: cls([(5,)], subnet_constructor=mlp_subnet, split_len=1))
    CASES[f"{_name}_cond"] = Case(
        lambda cls=_cls: cls([(6,)], [(3,), (2,)], subnet_constructor=mlp_subnet))
    CASES[f"{_name}_image"] = Case(
        lambda cls=_cls: cls([(4, 4, 4)], subnet_constructor=conv_subnet))
    CASES[f"{_name}_image_cond"] = Case(
        lambda cls=_cls: cls([(3, 4, 4)], [(2, 4, 4)], subnet_constructor=conv_subnet))

for _act in ["TANH", "SIGMOID"]:
    CASES[f"glow_{_act.lower()}"] = Case(
        partial(Fm.GLOWCouplingBlock, [(6,)], subnet_constructor=mlp_subnet,
                clamp_activation=_act, clamp=1.5))
    CASES[f"rnvp_{_act.lower()}"] = Case(
        partial(Fm.RNVPCouplingBlock, [(6,)], subnet_constructor=mlp_subnet,
                clamp_activation=_act))

CASES.update({
    "permute_random": Case(partial(Fm.PermuteRandom, [(7,)], seed=3), perturb=None),
    "permute_random_image": Case(partial(Fm.PermuteRandom, [(5, 3, 2)], seed=1), perturb=None),
    "actnorm": Case(partial(Fm.ActNorm, [(5,)]), warmup=True, batch_independent=True),
    "actnorm_image": Case(partial(Fm.ActNorm, [(3, 4, 4)]), warmup=True),
    "split": Case(partial(Fm.Split, [(7,)]), perturb=None, sequence=False),
    "split_three_axis1": Case(partial(Fm.Split, [(3, 7)], section_sizes=[2, 4], dim=1),
                              perturb=None, sequence=False),
    "concat": Case(partial(Fm.Concat, [(3,), (4,)]), perturb=None, sequence=False),
    "concat_image": Case(partial(Fm.Concat, [(2, 4, 4), (1, 4, 4)]), perturb=None,
                         sequence=False),
})
