"""Registry entries of the coupling issue: CouplingBlock, GIN, one-sided couplings, AllInOne."""

from functools import partial

import torch
import torch.nn as nn

import inn.modules as Fm
from inn.modules.coupling import checkerboard_mask
from inn.transformers import Additive, Affine

from .case import Case, conv_subnet, mlp_subnet


def conv1d_subnet(c_in, c_out, hidden=8):
    return nn.Sequential(nn.Conv1d(c_in, hidden, 3, padding=1), nn.Tanh(),
                         nn.Conv1d(hidden, c_out, 3, padding=1))


def conv3d_subnet(c_in, c_out, hidden=4):
    return nn.Sequential(nn.Conv3d(c_in, hidden, 3, padding=1), nn.Tanh(),
                         nn.Conv3d(hidden, c_out, 1))


def tanh_affine_fn(passive, c):
    """A TFP-style bijector_fn: builds the transformer for each step."""
    return Affine(clamp=1.5, clamp_activation="TANH")


VEC, IMG = [(6,)], [(3, 4, 4)]
VEC_C, IMG_C = [(3,), (2,)], [(2, 4, 4)]

CASES = {}

# -- FrEIA's GIN and one-sided couplings ------------------------------------------------------
for _name, _cls in [("gin", Fm.GINCouplingBlock), ("one_sided", Fm.AffineCouplingOneSided)]:
    CASES[_name] = Case(partial(_cls, VEC, subnet_constructor=mlp_subnet))
    CASES[f"{_name}_odd_int_split"] = Case(partial(_cls, [(5,)], subnet_constructor=mlp_subnet,
                                                   split_len=2))
    CASES[f"{_name}_cond"] = Case(partial(_cls, VEC, VEC_C, subnet_constructor=mlp_subnet))
    CASES[f"{_name}_image"] = Case(partial(_cls, [(4, 4, 4)], subnet_constructor=conv_subnet))
    CASES[f"{_name}_image_cond"] = Case(partial(_cls, IMG, IMG_C, subnet_constructor=conv_subnet))
CASES["gin_sigmoid"] = Case(partial(Fm.GINCouplingBlock, VEC, subnet_constructor=mlp_subnet,
                                    clamp_activation="SIGMOID", clamp=1.0))
CASES["cond_affine"] = Case(partial(Fm.ConditionalAffineTransform, VEC, VEC_C,
                                    subnet_constructor=mlp_subnet))
CASES["cond_affine_image"] = Case(partial(Fm.ConditionalAffineTransform, IMG, IMG_C,
                                          subnet_constructor=conv_subnet, clamp_activation="TANH"))

# -- the general CouplingBlock ----------------------------------------------------------------
# Transformer classes serve as zero-argument factories, so no instance is shared between cases.
_block = partial(Fm.CouplingBlock, transformer=Affine, subnet_constructor=mlp_subnet)
_image_block = partial(Fm.CouplingBlock, transformer=Affine, subnet_constructor=conv_subnet)
_channel_mask = torch.tensor([True, False, True, False, False, True])
CASES.update({
    "coupling_block": Case(partial(_block, VEC)),
    "coupling_block_two_sided": Case(partial(_block, VEC, two_sided=True)),
    "coupling_block_cond_two_sided": Case(partial(_block, VEC, VEC_C, two_sided=True,
                                                  split_len=0.3)),
    "coupling_block_image": Case(partial(_image_block, IMG, IMG_C, two_sided=True)),
    "coupling_block_nice": Case(partial(Fm.CouplingBlock, VEC, transformer=Additive,
                                        subnet_constructor=mlp_subnet, two_sided=True)),
    "coupling_block_nice_image": Case(partial(Fm.CouplingBlock, IMG, transformer=Additive(),
                                              subnet_constructor=conv_subnet)),
    "coupling_block_channel_mask": Case(partial(_block, VEC, mask=_channel_mask)),
    "coupling_block_channel_mask_two_sided_cond": Case(
        partial(_block, VEC, VEC_C, mask=_channel_mask, two_sided=True)),
    "coupling_block_channel_mask_image": Case(
        partial(_image_block, IMG, mask=torch.tensor([False, True, False]), two_sided=True)),
    "coupling_block_checkerboard": Case(partial(_image_block, IMG,
                                                mask=checkerboard_mask(IMG[0]))),
    "coupling_block_checkerboard_two_sided_cond": Case(
        partial(_image_block, IMG, IMG_C, mask=checkerboard_mask(IMG[0], parity=1),
                two_sided=True)),
    "coupling_block_checkerboard_nice": Case(
        partial(Fm.CouplingBlock, IMG, transformer=Additive(), subnet_constructor=conv_subnet,
                mask=checkerboard_mask(IMG[0]), two_sided=True)),
    "coupling_block_num_masked": Case(partial(_block, VEC, num_masked=4)),
    "coupling_block_num_masked_last": Case(partial(_block, VEC, VEC_C, num_masked=-2,
                                                   two_sided=True)),
    "coupling_block_fraction_masked": Case(partial(_block, [(7,)], fraction_masked=0.5)),
    "coupling_block_fraction_masked_last": Case(partial(_image_block, [(5, 4, 4)],
                                                        fraction_masked=-0.5)),
    "coupling_block_bijector_fn": Case(partial(Fm.CouplingBlock, VEC, VEC_C,
                                               transformer=tanh_affine_fn,
                                               subnet_constructor=mlp_subnet, two_sided=True)),
    "coupling_block_factory_unclamped": Case(
        partial(Fm.CouplingBlock, VEC, transformer=partial(Affine, clamp=None),
                subnet_constructor=mlp_subnet)),
    # init_identity starts at the identity; the registry perturbs the parameters away from it.
    "coupling_block_init_identity": Case(partial(_block, VEC, two_sided=True,
                                                 init_identity=True)),
    "coupling_block_init_identity_checkerboard": Case(
        partial(_image_block, IMG, mask=checkerboard_mask(IMG[0]), init_identity=True)),
})

# -- AllInOneBlock ----------------------------------------------------------------------------
_aio = partial(Fm.AllInOneBlock, subnet_constructor=mlp_subnet)
_aio_image = partial(Fm.AllInOneBlock, subnet_constructor=conv_subnet)
CASES.update({
    "all_in_one": Case(partial(_aio, VEC)),
    "all_in_one_odd": Case(partial(_aio, [(5,)], affine_clamping=1.0)),
    "all_in_one_legacy_clamp": Case(partial(_aio, VEC, VEC_C, affine_clamping=3.0,
                                            legacy_clamp=True)),
    "all_in_one_cond": Case(partial(_aio, VEC, VEC_C)),
    "all_in_one_image": Case(partial(_aio_image, IMG)),
    "all_in_one_image_cond": Case(partial(_aio_image, IMG, IMG_C, permute_soft=True)),
    "all_in_one_1d": Case(partial(Fm.AllInOneBlock, [(3, 5)], [(2, 5)],
                                  subnet_constructor=conv1d_subnet, permute_soft=True)),
    "all_in_one_3d": Case(partial(Fm.AllInOneBlock, [(3, 2, 2, 2)],
                                  subnet_constructor=conv3d_subnet, permute_soft=True,
                                  reverse_permutation=True)),
    "all_in_one_soft": Case(partial(_aio, VEC, permute_soft=True)),
    "all_in_one_householder_hard": Case(partial(_aio, VEC, learned_householder_permutation=3)),
    "all_in_one_householder_soft": Case(partial(_aio, VEC, VEC_C, permute_soft=True,
                                                learned_householder_permutation=2)),
    "all_in_one_householder_image": Case(partial(_aio_image, IMG, IMG_C,
                                                 learned_householder_permutation=2,
                                                 reverse_permutation=True)),
    "all_in_one_reverse": Case(partial(_aio, VEC, reverse_permutation=True)),
    "all_in_one_reverse_soft": Case(partial(_aio, VEC, VEC_C, reverse_permutation=True,
                                            permute_soft=True)),
    "all_in_one_gin": Case(partial(_aio, VEC, gin_block=True)),
    "all_in_one_gin_image": Case(partial(_aio_image, IMG, IMG_C, gin_block=True,
                                         permute_soft=True)),
    "all_in_one_sigmoid": Case(partial(_aio, VEC, global_affine_type="SIGMOID",
                                       global_affine_init=0.7)),
    "all_in_one_exp": Case(partial(_aio_image, IMG, global_affine_type="EXP",
                                   global_affine_init=1.5)),
})
