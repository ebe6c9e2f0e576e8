"""Passes shared between proxies: what the multi-proxy engine computes once per network.

Several proxies need the same intermediate result of one network on one batch: snip, grad_norm,
plain and fisher the cross-entropy's gradients; jacob_cov and epe_nas the input Jacobian; the
AZ-NAS components one forward pass of the re-initialised network; the VKDNW variants one Fisher
spectrum; NASWOT's ``default`` and ``normalised`` one kernel. A proxy that can share says which
passes it reads (``passes``, a class attribute of pass names) and implements
``score_shared(model, batch, passes)``; its ``__call__`` is ``score_shared`` with a fresh
:class:`SharedPasses` that plans its own passes only. The engine
(:func:`naswot.scoring.score_jobs`) hands every proxy of one architecture the same model and the
same :class:`SharedPasses`, so each pass runs once and each proxy's score is bit-identical to
scoring it alone: it is the same function of the same model and inputs, computed once instead of
several times. A pass can serve another when both are planned (:attr:`SharedPasses.planned`):
grasp's double back-propagation (``ce_hessian``) gives snip's gradients too, bit for bit
(``create_graph`` records the backward; it does not change what it computes), so with grasp in
the set the gradients are computed once, not twice.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import ClassVar, Protocol, TypeVar, cast, runtime_checkable

from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import InvalidParameterError
from naswot.proxies._base import ScoreResult

__all__ = ["PASSES", "SharedPasses", "SharesPasses", "SharingProxy", "shares_passes"]

T = TypeVar("T")

PASSES: dict[str, str] = {
    "ce_grads": "cross-entropy of the batch (mean or sum), gradients w.r.t. the conv/linear "
    "weights and outputs (BatchNorm in train mode)",
    "ce_hessian": "the same pass (mean) by double back-propagation, plus GraSP's Hessian-gradient "
    "product; when planned beside ce_grads, it serves ce_grads (mean) too",
    "input_jacobian": "d(sum of outputs)/d(inputs) of the batch (BatchNorm in train mode)",
    "az_forward": "AZ-NAS's forward pass: block outputs of the re-initialised network on N(0, 1) "
    "inputs, with the graph between them (train mode)",
    "az_entropies": "the PCA-spectrum entropies of those block outputs",
    "vkdnw_spectrum": "eigenvalues of VKDNW's Fisher information (eval mode, per-image Jacobians)",
    "naswot_kernel": "NASWOT's K_H and N_A from one forward pass with rectifier hooks "
    "(the NASWOT variants; linear_regions reads the ungated kernel of every rectifier)",
}
"""Every shared pass by name, with what it computes (``naswot list passes`` could print it)."""


class SharedPasses:
    """The results of the passes of one network on one batch, each computed once.

    Bound to one model and one batch: asking it for a pass of another model (or batch) is an
    error, so a result can never be served to the wrong network. A failed computation is not
    kept: the next proxy that needs the pass recomputes it and fails with its own message.

    Args:
        model: the network.
        batch: the batch.
        planned: the names of the passes the proxies scored with it read (the union of their
            ``passes``); a pass may then be computed as part of a larger one that serves both.
            Empty: every pass on its own.

    Attributes:
        hits: passes served from an earlier computation.
        misses: passes computed.
        planned: as given.
    """

    def __init__(self, model: nn.Module, batch: Batch, planned: Iterable[str] = ()) -> None:
        self._model = model
        self._batch = batch
        self.planned = frozenset(planned)
        unknown = sorted(self.planned - set(PASSES))
        if unknown:
            raise InvalidParameterError(
                f"Unknown shared passes {unknown}; the passes are {sorted(PASSES)}."
            )
        self._results: dict[Hashable, object] = {}
        self.hits = 0
        self.misses = 0

    def get(
        self, model: nn.Module, batch: Batch, key: tuple[Hashable, ...], compute: Callable[[], T]
    ) -> T:
        """The result of the pass ``key`` (its name first, then what it depends on).

        Raises:
            InvalidParameterError: if ``model`` or ``batch`` is not the one these passes are of,
                or the key names no pass of :data:`PASSES`.
        """
        if model is not self._model or batch is not self._batch:
            raise InvalidParameterError(
                "These shared passes belong to another model or batch; make one SharedPasses "
                "per network and batch."
            )
        if not key or key[0] not in PASSES:
            raise InvalidParameterError(
                f"Unknown shared pass {key[:1]!r}; the passes are {sorted(PASSES)}."
            )
        if key in self._results:
            self.hits += 1
            return cast(T, self._results[key])
        value = compute()
        self._results[key] = value
        self.misses += 1
        return value


@runtime_checkable
class SharingProxy(Protocol):
    """A proxy that reads shared passes (see the module docstring)."""

    passes: ClassVar[tuple[str, ...]]

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch``, taking the passes it needs from ``passes``."""
        ...


class SharesPasses:
    """Mixin: ``__call__`` is ``score_shared`` with passes of its own (scoring alone)."""

    passes: ClassVar[tuple[str, ...]] = ()

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch``, taking the passes it needs from ``passes``."""
        raise NotImplementedError

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch`` alone (every pass computed here)."""
        return self.score_shared(model, batch, SharedPasses(model, batch, self.passes))


def shares_passes(proxy: object) -> bool:
    """True when ``proxy`` reads shared passes (the engine then gives it the common ones)."""
    return bool(getattr(proxy, "passes", ())) and callable(getattr(proxy, "score_shared", None))
