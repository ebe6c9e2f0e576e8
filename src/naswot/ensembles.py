"""Rank aggregation of several proxies' scores, and the named ensembles (numpy only, no torch).

Pure functions over ``{proxy name: scores}``, where every array holds one score per architecture
in the same order. Each proxy's orientation comes from ``higher_is_better`` (looked up in
``PROXIES`` when not given), so a lower-is-better proxy such as ``ntk`` counts the right way round.
Every function returns one combined score per architecture, **higher is better**.

Methods:
    * :func:`rank_sum`: the sum of the per-proxy ranks (TE-NAS combines its two terms this way).
    * :func:`majority_vote`: for each pair of architectures the majority of the proxies decides
      which is better (foresight's vote); the score is the number of pairwise wins.
    * :func:`log_rank`: AZ-NAS's non-linear aggregation ``sum_p log(rank_p / m)``.

Ranks: within one proxy, the worst architecture gets rank 1 and the best rank m (m
architectures); ties share the average of their ranks (``scipy.stats.rankdata``).

Failed scores (``nan_policy``): a failure is a NaN or None in a score array (``-inf``, e.g. a
singular NASWOT kernel, is an ordinary, very low value).
    * ``"worst"`` (default): a failed score ranks below every non-failed score of that proxy;
      failures of one proxy tie with each other. The architecture keeps its other proxies' ranks.
    * ``"omit"``: an architecture with any failed score gets a NaN combined score and is left out
      of the ranking of the others (ranks are computed over the complete architectures only).
    * ``"raise"``: any failure raises InvalidParameterError.

Example:
    >>> import numpy as np
    >>> from naswot.ensembles import rank_sum
    >>> rank_sum({"naswot": [1.0, 3.0, 2.0], "ntk": [5.0, 1.0, 9.0]}).tolist()
    [3.0, 6.0, 3.0]
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from naswot.exceptions import InvalidParameterError
from naswot.registry import Registry

__all__ = [
    "ENSEMBLES",
    "NAMED_ENSEMBLES",
    "EnsembleSpec",
    "NamedEnsemble",
    "NanPolicy",
    "log_rank",
    "majority_vote",
    "oriented_ranks",
    "rank_sum",
    "resolve_ensemble",
]

NanPolicy = Literal["worst", "omit", "raise"]
Scores = Mapping[str, ArrayLike | Sequence[float | None]]
Orientation = Mapping[str, bool] | None

_CHUNK = 256  # rows of the pairwise comparison processed at once (memory: CHUNK x m floats)


def oriented_ranks(
    scores: Scores, *, higher_is_better: Orientation = None, nan_policy: NanPolicy = "worst"
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Per-proxy ranks (1 = worst, m = best), oriented by each proxy's ``higher_is_better``.

    Args:
        scores: proxy name -> one score per architecture (NaN or None = failed).
        higher_is_better: proxy name -> orientation; missing names are looked up in ``PROXIES``.
        nan_policy: ``worst``, ``omit`` or ``raise`` (see the module docstring).

    Returns:
        ``(ranks, complete)``: ranks of shape (n_proxies, m), in the order of ``scores``, and a
        mask of the architectures that take part (all of them unless ``nan_policy="omit"``);
        ranks of the others are NaN.

    Raises:
        InvalidParameterError: no proxies, arrays of different lengths, an unknown orientation,
            an unknown policy, or a failure under ``raise``.
    """
    if nan_policy not in ("worst", "omit", "raise"):
        raise InvalidParameterError(
            "The 'nan_policy' parameter must be 'worst', 'omit' or 'raise'. "
            f"Got {nan_policy!r} instead."
        )
    values = _as_matrix(scores)
    signs = np.array([1.0 if hib else -1.0 for hib in _orientations(scores, higher_is_better)])
    failed = np.isnan(values)
    if nan_policy == "raise" and failed.any():
        proxy, arch = (int(i) for i in np.argwhere(failed)[0])
        raise InvalidParameterError(
            f"The score of architecture {arch} for proxy {list(scores)[proxy]!r} failed (NaN); "
            "use nan_policy='worst' or 'omit' to aggregate anyway."
        )
    complete = np.ones(values.shape[1], dtype=np.bool_)
    if nan_policy == "omit":
        complete &= ~failed.any(axis=0)
    from scipy.stats import rankdata  # here: importing scipy.stats takes ~0.6 s, every worker

    ranks: NDArray[np.float64] = np.full(values.shape, np.nan)
    for p, (row, sign) in enumerate(zip(values, signs, strict=True)):
        row = row[complete] * sign
        bad = np.isnan(row)
        k = int(bad.sum())
        out = np.empty(row.shape)
        out[bad] = (k + 1) / 2.0  # failures share ranks 1..k
        out[~bad] = rankdata(row[~bad]) + k
        ranks[p, complete] = out
    return ranks, complete


def rank_sum(
    scores: Scores, *, higher_is_better: Orientation = None, nan_policy: NanPolicy = "worst"
) -> NDArray[np.float64]:
    """``S_a = sum_p rank_p(a)``: the sum of the per-proxy ranks (best = m); higher is better."""
    ranks, complete = oriented_ranks(
        scores, higher_is_better=higher_is_better, nan_policy=nan_policy
    )
    return _with_nan(ranks.sum(axis=0), complete)


def log_rank(
    scores: Scores, *, higher_is_better: Orientation = None, nan_policy: NanPolicy = "worst"
) -> NDArray[np.float64]:
    """AZ-NAS aggregation ``S_a = sum_p log(rank_p(a) / m)``; higher is better (the best is 0).

    Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR 2024.
    The log punishes an architecture that one proxy ranks very low far more than the rank sum
    does. m is the number of ranked architectures.
    """
    ranks, complete = oriented_ranks(
        scores, higher_is_better=higher_is_better, nan_policy=nan_policy
    )
    m = int(complete.sum())
    return _with_nan(np.log(ranks / max(m, 1)).sum(axis=0), complete)


def majority_vote(
    scores: Scores, *, higher_is_better: Orientation = None, nan_policy: NanPolicy = "worst"
) -> NDArray[np.float64]:
    """The number of pairwise wins when the majority of the proxies decides each pair.

    For architectures a and b, each proxy votes for the one it scores better (no vote on a tie);
    a wins the pair when it has more votes than b. The score of a is its number of wins, plus
    1/2 for each pair with as many votes each way (so the scores add up to m(m-1)/2). With the
    ``worst`` policy a failed score loses to every non-failed score of that proxy. Higher is
    better. Cost: O(n_proxies m^2) comparisons, in chunks of rows.
    """
    ranks, complete = oriented_ranks(
        scores, higher_is_better=higher_is_better, nan_policy=nan_policy
    )
    r = ranks[:, complete]
    m = r.shape[1]
    wins = np.zeros(m)
    for start in range(0, m, _CHUNK):
        stop = min(start + _CHUNK, m)
        # votes[i, j] = proxies preferring i over j minus proxies preferring j over i
        votes = np.zeros((stop - start, m))
        for row in r:
            votes += np.sign(row[start:stop, None] - row[None, :])
        ties = (votes == 0).sum(axis=1) - 1.0  # an architecture ties with itself
        wins[start:stop] = (votes > 0).sum(axis=1) + 0.5 * ties
    out = np.full(complete.shape, np.nan)
    out[complete] = wins
    return out


ENSEMBLES: dict[str, Callable[..., NDArray[np.float64]]] = {
    "rank_sum": rank_sum,
    "vote": majority_vote,
    "log_rank": log_rank,
}
"""The aggregation methods by name (for a CLI option)."""


@dataclass(frozen=True, slots=True)
class EnsembleSpec:
    """An aggregation method over named proxies, written ``METHOD:proxy+proxy+...``.

    Members are proxy labels (``name`` or ``name:variant``), e.g.
    ``log_rank:naswot+zico+flops`` or ``vote:synflow+jacob_cov+snip``.
    """

    method: str
    members: tuple[str, ...]
    name: str | None = None
    """The registered name of a named ensemble (its label), None for a ``METHOD:a+b`` spec."""

    @classmethod
    def parse(cls, text: str) -> EnsembleSpec:
        """Reads ``METHOD:proxy+proxy+...``; the method must be in :data:`ENSEMBLES`."""
        method, sep, rest = text.strip().partition(":")
        members = tuple(m.strip() for m in rest.split("+") if m.strip())
        if not sep or not members:
            raise InvalidParameterError(
                f"Ensemble {text!r}: expected METHOD:proxy+proxy+... (methods: "
                f"{', '.join(ENSEMBLES)}), e.g. log_rank:naswot+zico+flops."
            )
        if method not in ENSEMBLES:
            close = difflib.get_close_matches(method, list(ENSEMBLES), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidParameterError(
                f"Unknown ensemble method {method!r}. Choices: {', '.join(ENSEMBLES)}.{hint}"
            )
        if len(set(members)) != len(members):
            raise InvalidParameterError(f"Ensemble {text!r} names a proxy twice.")
        return cls(method, members)

    @property
    def label(self) -> str:
        """The name of a named ensemble, else the spec as written: ``METHOD:a+b+c``."""
        return self.name or self.spec

    @property
    def spec(self) -> str:
        """``METHOD:a+b+c``, also for a named ensemble."""
        return f"{self.method}:{'+'.join(self.members)}"

    def combine(
        self,
        scores: Scores,
        *,
        higher_is_better: Orientation = None,
        nan_policy: NanPolicy = "worst",
    ) -> NDArray[np.float64]:
        """The combined score (higher is better) from ``scores``, which must hold every member."""
        missing = [m for m in self.members if m not in scores]
        if missing:
            raise InvalidParameterError(
                f"Ensemble {self.label!r} needs scores of {', '.join(missing)} (given: "
                f"{', '.join(scores) or 'none'})."
            )
        return ENSEMBLES[self.method](
            {m: scores[m] for m in self.members},
            higher_is_better=higher_is_better,
            nan_policy=nan_policy,
        )


@dataclass(frozen=True, slots=True)
class NamedEnsemble:
    """An ensemble registered by name in :data:`NAMED_ENSEMBLES` (``--ensemble NAME``).

    Attributes:
        name: the registered name.
        method: a key of :data:`ENSEMBLES`.
        members: proxy labels (``name`` or ``name:variant``), as ``--proxy`` takes them.
        doc: where the ensemble comes from and how its members were chosen.
    """

    name: str
    method: str
    members: tuple[str, ...]
    doc: str

    @property
    def spec(self) -> EnsembleSpec:
        """The ensemble as a spec labelled with its name."""
        return EnsembleSpec(self.method, self.members, name=self.name)


NAMED_ENSEMBLES: Registry[NamedEnsemble] = Registry("ensemble")
"""The named ensembles. Members are registered proxy labels; the registry of proxies is not
imported here (this module needs numpy only), tests check that every member exists."""

for _entry in (
    NamedEnsemble(
        "az_nas",
        "log_rank",
        ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity"),
        "AZ-NAS (Lee & Ham, CVPR 2024): the non-linear log-rank aggregation of its four "
        "components, expressivity, progressivity, trainability and complexity (FLOPs).",
    ),
    NamedEnsemble(
        "vkdnw_agg",
        "log_rank",
        ("vkdnw:single", "jacob_cov", "az_expressivity", "az_trainability", "flops"),
        "VKDNW_agg (Tybl & Neumann, CVPR 2025): VKDNW_single (number of trainable layers, then "
        "the entropy) with jacov, AZ-NAS's expressivity and trainability, and FLOPs, by the "
        "log-rank aggregation (the five-term row of the authors' ablation, "
        "ondratybl/VKDNW NB201/paper_preparation.ipynb).",
    ),
    NamedEnsemble(
        "recommended",
        "log_rank",
        (
            "az_progressivity",
            "az_trainability",
            "jacob_cov",
            "meco:conv_noise",
            "swap",
            "zico",
        ),
        "Chosen among 13 proxies on 1,000 seeded NB201 cells and reported on 1,000 others "
        "(docs/leaderboard.md, benchmarks/honest_ensemble.py): AZ-NAS's progressivity and "
        "trainability, jacob_cov, MeCo on noise over the convolutions, SWAP and ZiCo by "
        "log-rank; held-out Spearman 0.946 / 0.942 / 0.930 (C10 / C100 / IN16), CIFAR-10 "
        "images.",
    ),
    NamedEnsemble(
        "recommended_search",
        "rank_sum",
        ("az_trainability", "swap", "params", "meco", "epsinas", "l2_norm"),
        "Chosen for search: among 12 proxies scored over the whole space, on the same 1,000-cell "
        "selection pool as recommended but for the accuracy of the cell a simulated N=100 search "
        "picks (docs/leaderboard.md); over the other 14,625 cells it picks 93.60 / 71.05 / "
        "44.73 % at N=100 (recommended 93.23 / 70.20 / 44.43) and ranks all cells less well "
        "(Spearman 0.901 / 0.898 / 0.888 against 0.946 / 0.941 / 0.927); epsinas's float32 "
        "failures rank lowest and carry much of its top end; CIFAR-10 images.",
    ),
):
    NAMED_ENSEMBLES.add(_entry.name, _entry)
del _entry


def resolve_ensemble(text: str) -> EnsembleSpec:
    """A registered ensemble's name, or a ``METHOD:proxy+proxy+...`` spec.

    Raises:
        InvalidParameterError: for a malformed spec (or unknown name: the choices are listed).
    """
    name = text.strip()
    if name in NAMED_ENSEMBLES:
        return NAMED_ENSEMBLES.get(name).spec
    if ":" not in name:
        close = difflib.get_close_matches(name, NAMED_ENSEMBLES.names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidParameterError(
            f"Unknown ensemble {name!r}: give a name ({', '.join(NAMED_ENSEMBLES.names())}) or "
            f"METHOD:proxy+proxy+... (methods: {', '.join(ENSEMBLES)}).{hint}"
        )
    return EnsembleSpec.parse(name)


def _as_matrix(scores: Scores) -> NDArray[np.float64]:
    if not scores:
        raise InvalidParameterError("The 'scores' parameter must hold at least one proxy.")
    rows = [
        np.array([np.nan if v is None else v for v in np.ravel(np.asarray(s, dtype=object))])
        for s in scores.values()
    ]
    lengths = {name: len(row) for name, row in zip(scores, rows, strict=True)}
    if len(set(lengths.values())) != 1:
        raise InvalidParameterError(
            f"Every proxy must score the same architectures; got lengths {lengths}."
        )
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1)


def _orientations(scores: Scores, given: Orientation) -> list[bool]:
    given = dict(given or {})
    missing = [name for name in scores if name not in given]
    if missing:
        from naswot.proxies import PROXIES  # the registry imports this package's modules

        for name in missing:
            base = name.partition(":")[0]  # a "name:variant" label
            if base not in PROXIES:
                raise InvalidParameterError(
                    f"No orientation for {name!r}: it is not a registered proxy; pass "
                    "higher_is_better={name: bool}."
                )
            given[name] = PROXIES.get(base).higher_is_better
    return [bool(given[name]) for name in scores]


def _with_nan(values: NDArray[np.float64], complete: NDArray[np.bool_]) -> NDArray[np.float64]:
    out = np.full(complete.shape, np.nan)
    out[complete] = values[complete]
    return out
