"""Proxy names -> proxy objects, their labels, network outputs and ``--ensemble`` specs."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from naswot._io import quote
from naswot.data.shapes import DATASET_CLASSES
from naswot.exceptions import InvalidParameterError
from naswot.proxies import PROXIES, Naswot, Proxy
from naswot.proxies.ensemble import EnsembleSpec
from naswot.scoring import ensemble_records, proxy_label

# proxy_label and ensemble_records live in the library (naswot.scoring); the commands look them
# up here, through _common.
__all__ = [
    "DATASET_CLASSES",
    "ensemble_records",
    "n_classes_for",
    "proxy_label",
    "resolve_ensembles",
    "resolve_proxies",
    "resolve_proxy",
]


def resolve_proxies(names: str, variant: str) -> list[Proxy]:
    """The proxies of a comma-separated list of ``name`` or ``name:variant``.

    ``variant`` (``--variant``) applies to every bare name that has it; the others take their
    default variant, and a ``--variant`` that no bare name has is an error. ``all`` stands for
    every registered proxy in its default variant plus the other NASWOT variants (the
    leaderboard's set).
    """
    out: list[Proxy] = []
    bare: list[str] = []
    used = variant == "default"
    for item in [n.strip() for n in names.split(",") if n.strip()]:
        if item == "all":
            out += [resolve_proxy(n, PROXIES.get(n).variants[0]) for n in PROXIES.names()]
            out += [resolve_proxy("naswot", v) for v in Naswot.variants[1:]]
            continue
        name, _, given = item.partition(":")
        factory = PROXIES.get(name)
        if given:
            out.append(resolve_proxy(name, given))
        elif variant in factory.variants:
            out.append(resolve_proxy(name, variant))
            used = True
        else:
            out.append(resolve_proxy(name, factory.variants[0]))
            bare.append(name)
    if not out:
        raise InvalidParameterError("--proxy names no proxy.")
    if not used:
        if len(bare) == 1:
            resolve_proxy(bare[0], variant)  # raises, naming the choices and the closest
        raise InvalidParameterError(
            f"--variant {quote(variant)}: none of {', '.join(bare) or 'the proxies'} has it; write "
            "name:variant in --proxy (`naswot list variants` lists them)."
        )
    labels = [proxy_label(p) for p in out]
    repeated = sorted({lab for lab in labels if labels.count(lab) > 1})
    if repeated:
        raise InvalidParameterError(f"--proxy names {', '.join(repeated)} more than once.")
    return out


def resolve_ensembles(specs: Sequence[str] | None, proxies: Sequence[Proxy]) -> list[EnsembleSpec]:
    """The ``--ensemble`` specs, each checked against the ``--proxy`` labels."""
    labels = [proxy_label(p) for p in proxies]
    out = [EnsembleSpec.parse(s) for s in specs or ()]
    for spec in out:
        absent = [m for m in spec.members if m not in labels]
        if absent:
            raise InvalidParameterError(
                f"Ensemble {spec.label!r} needs {', '.join(absent)} in --proxy "
                f"(given: {', '.join(labels)})."
            )
    return out


def n_classes_for(proxy: Proxy, dataset: str) -> int:
    """Network outputs for ``proxy``: 1 (as NASWOT), or the dataset's classes if it needs them."""
    return DATASET_CLASSES.get(dataset, 10) if getattr(proxy, "needs_classes", False) else 1


def resolve_proxy(name: str, variant: str) -> Proxy:
    """The proxy ``name`` in ``variant``."""
    factory = PROXIES.get(name)
    if variant not in factory.variants:
        close = difflib.get_close_matches(variant, factory.variants, n=1)
        raise InvalidParameterError(
            f"Unknown variant {quote(variant)} of proxy {quote(name)}. Choices: "
            f"{', '.join(factory.variants)}." + (f" Did you mean {close[0]!r}?" if close else "")
        )
    return factory(variant)
