"""The NDS cell search spaces: DARTS, ENAS, PNAS, NASNet and Amoeba (no torch here).

Radosavovic, Johnson, Xie, Lo, Dollár, "On Network Design Spaces for Visual Recognition",
ICCV 2019 (NDS), study five NAS cell spaces in one DARTS-style framework, trained with pycls. A
cell has two inputs (nodes 0 and 1: the outputs of the two previous cells) and ``n``
intermediate nodes (2 .. n + 1). Node ``j`` applies two operations, each to one earlier node
chosen independently (the same node may be chosen twice), and sums them; the cell output
concatenates the ``concat`` nodes. A network has a *normal* and a *reduce* cell, drawn
independently from the same op set.

=========  =====  =====  ======
space      ops    nodes  output
=========  =====  =====  ======
NASNet     13     5      loose
Amoeba      8     5      loose
PNAS        8     5      all
ENAS        5     5      loose
DARTS       8     4      all
=========  =====  =====  ======

"all" concatenates every intermediate node, "loose" the loose ends (the nodes no other node
reads). The op sets are pycls's (:mod:`naswot.spaces.nds_ops`); docs/nds.md gives the source of
each fact.

This module is the public face of three parts: :mod:`~naswot.spaces.nds_ops` (op names),
:mod:`~naswot.spaces.nds_genotype` (:class:`Genotype`, :class:`NdsCellArch`, the key
``Genotype(...)@w<W>d<D>`` and its parser) and :mod:`~naswot.spaces.nds_spaces` (the spaces).
"""

from __future__ import annotations

from naswot.spaces.nds_genotype import (
    DEFAULT_DEPTH,
    DEFAULT_WIDTH,
    Genotype,
    NdsCellArch,
    Pair,
    format_arch,
    format_genotype,
    loose_ends,
    parse_genotype,
)
from naswot.spaces.nds_ops import ALL_OPS
from naswot.spaces.nds_spaces import (
    CELL_SPACES,
    NdsAmoebaSpace,
    NdsCellSpace,
    NdsDartsSpace,
    NdsEnasSpace,
    NdsNasnetSpace,
    NdsPnasSpace,
)

__all__ = [
    "ALL_OPS",
    "CELL_SPACES",
    "DEFAULT_DEPTH",
    "DEFAULT_WIDTH",
    "Genotype",
    "NdsAmoebaSpace",
    "NdsCellArch",
    "NdsCellSpace",
    "NdsDartsSpace",
    "NdsEnasSpace",
    "NdsNasnetSpace",
    "NdsPnasSpace",
    "Pair",
    "format_arch",
    "format_genotype",
    "loose_ends",
    "parse_genotype",
]
