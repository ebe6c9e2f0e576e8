"""The operation sets of the NDS cell spaces, checked against the code that trained NDS.

NDS (Radosavovic et al., "On Network Design Spaces for Visual Recognition", ICCV 2019) trained
its models with pycls (facebookresearch/nds README: "All models were trained using pycls").
pycls's ``pycls/models/nas/genotypes.py`` defines one op list per space (``NASNET_OPS``,
``AMOEBA_OPS``, ``PNAS_OPS``, ``ENAS_OPS``, ``DARTS_OPS``); the tuples below hold the same names
in the same order, so ``ops[i]`` is pycls's ``i``-th op. The names were read in the copies of that
file in ``facebookresearch/unnas`` and ``BayesWatch/nas-without-training`` (the NASWOT code),
and agree with the op lists of NNI's NDS-based spaces (``nni/nas/hub/pytorch/nasnet.py``; NNI
leaves ``none`` out of DARTS because its differentiable cell adds it itself).

Ops whose names are not self-explanatory, as pycls's ``operations.py`` builds them (and
``naswot.networks.nds`` does): ``conv_3x1_1x3`` / ``conv_7x1_1x7`` = ReLU, 1 x k conv, k x 1 conv,
BN; ``dil_conv_3x3`` / ``dil_conv_5x5`` = ReLU, depthwise conv with dilation 2, 1x1 conv, BN;
``dil_sep_conv_3x3`` = that twice (a dilated separable conv); ``none`` = zeros.

Only DARTS has ``none`` (the DARTS zero op; the SWAP-NAS DARTS sample holds it too). The
networks (``naswot.networks.nds.OPERATIONS``) build every op of :data:`ALL_OPS`.
"""

from __future__ import annotations

__all__ = ["ALL_OPS", "AMOEBA_OPS", "DARTS_OPS", "ENAS_OPS", "NASNET_OPS", "PNAS_OPS"]

#: NASNet (Zoph, Vasudevan, Shlens, Le, CVPR 2018), in pycls's order.
NASNET_OPS: tuple[str, ...] = (
    "skip_connect",
    "conv_3x1_1x3",
    "conv_7x1_1x7",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)

#: AmoebaNet (Real, Aggarwal, Huang, Le, AAAI 2019), in pycls's order.
AMOEBA_OPS: tuple[str, ...] = (
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "avg_pool_3x3",
    "max_pool_3x3",
    "dil_sep_conv_3x3",
    "conv_7x1_1x7",
)

#: PNAS (Liu et al., ECCV 2018), in pycls's order.
PNAS_OPS: tuple[str, ...] = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "conv_7x1_1x7",
    "skip_connect",
    "avg_pool_3x3",
    "max_pool_3x3",
    "dil_conv_3x3",
)

#: ENAS micro space (Pham et al., ICML 2018), in pycls's order.
ENAS_OPS: tuple[str, ...] = (
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "avg_pool_3x3",
    "max_pool_3x3",
)

#: DARTS (Liu, Simonyan, Yang, ICLR 2019), with the zero op ``none``, in pycls's order.
DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

#: Every operation name a genotype may hold (the union of the five spaces' op sets).
ALL_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "conv_3x1_1x3",
    "conv_7x1_1x7",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "dil_sep_conv_3x3",
)
