"""The five NDS cell spaces: DARTS, ENAS, PNAS, NASNet and Amoeba (no torch here).

Each space fixes an op set (:mod:`naswot.spaces.nds_ops`), a number of intermediate nodes per
cell and an output rule: "all" concatenates every intermediate node, "loose" only the loose
ends, the intermediate nodes that no node of the cell reads (NDS Table 1: "A" / "L"). Node
counts and output rules as NNI's NDS-based spaces (``nni/nas/hub/pytorch/nasnet.py``) define
them: NASNet, Amoeba and ENAS 5 nodes, loose ends; PNAS 5 nodes, all; DARTS 4 nodes, all.

Import these names from :mod:`naswot.spaces.nds`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Literal

import numpy as np

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nds_genotype import (
    Genotype,
    NdsCellArch,
    Pair,
    _arch_of,
    _check_size,
    _parse,
    format_arch,
    loose_ends,
)
from naswot.spaces.nds_ops import AMOEBA_OPS, DARTS_OPS, ENAS_OPS, NASNET_OPS, PNAS_OPS

__all__ = [
    "CELL_SPACES",
    "NdsAmoebaSpace",
    "NdsCellSpace",
    "NdsDartsSpace",
    "NdsEnasSpace",
    "NdsNasnetSpace",
    "NdsPnasSpace",
]


class NdsCellSpace:
    """An NDS cell space: genotypes over ``ops`` with ``n_nodes`` nodes per cell.

    Subclasses fix ``ops``, ``n_nodes`` and ``output``. :meth:`sample` draws each operation
    and each input uniformly and independently (inputs of node j from nodes 0 .. j - 1, the
    two cell inputs included, so both inputs of a node may be the same node), for the normal
    and the reduce cell independently; the concatenated nodes follow the output rule. This is
    how NNI's NDS-based spaces choose (one input choice per op over all predecessors, separate
    ``normal/`` and ``reduce/`` choices). The reduction cell has the same op set and nodes;
    only the network differs (stride 2 on the ops that read nodes 0 and 1). :meth:`parse`
    accepts any increasing set of concatenated nodes (NDS json files are taken as they are).

    Args:
        imagenet: the ImageNet variant (name suffix ``-in``; networks get the ImageNet stem).
        width: written into sampled architectures (None: keys carry no width).
        depth: written into sampled architectures (None: keys carry no depth).
    """

    base_name: ClassVar[str]
    ops: ClassVar[tuple[str, ...]]
    n_nodes: ClassVar[int]
    output: ClassVar[Literal["all", "loose"]]

    def __init__(
        self, *, imagenet: bool = False, width: int | None = None, depth: int | None = None
    ) -> None:
        _check_size("width", width, type(self).__name__)
        _check_size("depth", depth, type(self).__name__)
        self.imagenet = imagenet
        self.width = width
        self.depth = depth
        self.name = self.base_name + ("-in" if imagenet else "")

    def sample(self, rng: np.random.Generator) -> NdsCellArch:
        """A genotype with every op and input drawn uniformly (see the class docstring)."""
        normal = self._sample_cell(rng)
        reduce = self._sample_cell(rng)
        genotype = Genotype(normal, self._concat(normal), reduce, self._concat(reduce))
        return NdsCellArch(genotype, self.width, self.depth)

    def _sample_cell(self, rng: np.random.Generator) -> tuple[Pair, ...]:
        pairs = []
        for k in range(2 * self.n_nodes):
            op = self.ops[int(rng.integers(len(self.ops)))]
            pairs.append((op, int(rng.integers(k // 2 + 2))))
        return tuple(pairs)

    def _concat(self, pairs: tuple[Pair, ...]) -> tuple[int, ...]:
        if self.output == "loose":
            return loose_ends(pairs)
        return tuple(range(2, self.n_nodes + 2))

    def key(self, arch: NdsCellArch) -> str:
        """The key of ``arch`` (see the module docstring)."""
        return format_arch(arch)

    def parse(self, key: str) -> NdsCellArch:
        """The architecture of ``key``; its ops and node count must be this space's.

        Raises:
            ArchParseError: naming the position and what was expected there.
        """
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"The 'key' parameter of {type(self).__name__}.parse must be a str. "
                f"Got {type(key).__name__} instead."
            )
        parsed = _parse(key, self.ops, self.name)
        for cell, pairs in parsed.cells.items():
            if len(pairs) != 2 * self.n_nodes:
                at = parsed.list_end[cell]
                raise ArchParseError(
                    parsed.text,
                    at,
                    f"{2 * self.n_nodes} (op, input) pairs in the {cell} cell ({self.name} "
                    f"cells have {self.n_nodes} nodes)",
                    f"{len(pairs)} pairs",
                )
        return _arch_of(parsed)

    def mutate(self, arch: NdsCellArch, rng: np.random.Generator) -> NdsCellArch:
        """Changes one op or one input of one uniformly chosen pair of one of the two cells.

        The cell's concatenated nodes are then recomputed for the "loose" output rule.
        """
        g = arch.genotype
        which = "normal" if rng.integers(2) == 0 else "reduce"
        pairs = list(getattr(g, which))
        k = int(rng.integers(len(pairs)))
        op, inp = pairs[k]
        if rng.integers(2) == 0:
            choices = [o for o in self.ops if o != op]
            pairs[k] = (choices[int(rng.integers(len(choices)))], inp)
        else:
            inputs = [i for i in range(k // 2 + 2) if i != inp]
            pairs[k] = (op, inputs[int(rng.integers(len(inputs)))])
        cell = tuple(pairs)
        concat: tuple[int, ...] = getattr(g, f"{which}_concat")
        if self.output == "loose":
            concat = self._concat(cell)
        if which == "normal":
            genotype = replace(g, normal=cell, normal_concat=concat)
        else:
            genotype = replace(g, reduce=cell, reduce_concat=concat)
        return replace(arch, genotype=genotype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(imagenet={self.imagenet!r})"


class NdsDartsSpace(NdsCellSpace):
    """NDS-DARTS: the DARTS space (Liu, Simonyan, Yang, ICLR 2019).

    8 ops (:data:`~naswot.spaces.nds_ops.DARTS_OPS`, with the zero op ``none``), 4 nodes, all
    nodes concatenated.
    """

    base_name = "nds-darts"
    ops = DARTS_OPS
    n_nodes = 4
    output = "all"


class NdsEnasSpace(NdsCellSpace):
    """NDS-ENAS: the ENAS micro space (Pham et al., ICML 2018).

    5 ops (:data:`~naswot.spaces.nds_ops.ENAS_OPS`), 5 nodes, loose ends concatenated.
    """

    base_name = "nds-enas"
    ops = ENAS_OPS
    n_nodes = 5
    output = "loose"


class NdsPnasSpace(NdsCellSpace):
    """NDS-PNAS: the PNAS space (Liu et al., ECCV 2018).

    8 ops (:data:`~naswot.spaces.nds_ops.PNAS_OPS`), 5 nodes, all nodes concatenated.
    """

    base_name = "nds-pnas"
    ops = PNAS_OPS
    n_nodes = 5
    output = "all"


class NdsNasnetSpace(NdsCellSpace):
    """NDS-NASNet: the NASNet space (Zoph, Vasudevan, Shlens, Le, CVPR 2018).

    13 ops (:data:`~naswot.spaces.nds_ops.NASNET_OPS`), 5 nodes, loose ends concatenated.
    """

    base_name = "nds-nasnet"
    ops = NASNET_OPS
    n_nodes = 5
    output = "loose"


class NdsAmoebaSpace(NdsCellSpace):
    """NDS-Amoeba: the AmoebaNet space (Real, Aggarwal, Huang, Le, AAAI 2019).

    8 ops (:data:`~naswot.spaces.nds_ops.AMOEBA_OPS`), 5 nodes, loose ends concatenated.
    """

    base_name = "nds-amoeba"
    ops = AMOEBA_OPS
    n_nodes = 5
    output = "loose"


#: The five cell space classes, in NDS Table 1 order.
CELL_SPACES: tuple[type[NdsCellSpace], ...] = (
    NdsNasnetSpace,
    NdsAmoebaSpace,
    NdsPnasSpace,
    NdsEnasSpace,
    NdsDartsSpace,
)
