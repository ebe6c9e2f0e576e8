"""``naswot export``: an architecture to ``model.pt2``, ``state_dict.pt`` and ``card.json``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from naswot import export as E
from naswot._io import check_output_dir
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.data import Batch
from naswot.exceptions import InvalidParameterError
from naswot.parallel import ScoringJob
from naswot.scoring import ScoreRecord, stored_variant


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``export`` command."""
    p = commands.add_parser(
        "export",
        help=command_help("export"),
        description="Scores the architecture (a store hit after a search), then writes DIR/"
        "model.pt2 (torch.export program, eval mode, the dataset's classes; load it with "
        "torch.export.load, no naswot needed), DIR/state_dict.pt (the weights at the scoring "
        "seed) and DIR/card.json (space, arch, classes, params, FLOPs, score and provenance).",
    )
    p.add_argument("--arch", required=True, help="the architecture string")
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the folder to write (created)"
    )
    _common.add_scoring_options(p, proxy="naswot")  # no --ensemble here: one proxy's score
    p.set_defaults(run=run)


def score_info(record: ScoreRecord, job: ScoringJob, batch: Batch, seed: int) -> dict[str, Any]:
    """What a card records about a score: the value and how it was made."""
    return {
        "value": record.score,
        "status": record.status,
        "proxy": record.proxy,
        "variant": stored_variant(job.proxy, job.fast),
        "engine": job.engine,
        "seed": seed,
        "n_units": record.n_units,
        "from_store": record.cached,
        "device": job.device,
        **_common.batch_info(batch),
    }


def export_to(
    args: argparse.Namespace, space: Any, key: str, out: Path, *, seed: int, score: dict[str, Any]
) -> dict[str, Any]:
    """Exports ``key`` into ``out`` with the options' dataset (``noise``: CIFAR-10's shape)."""
    dataset = args.dataset if args.dataset != "noise" else "cifar10"
    return E.export(space, key, out, dataset=dataset, seed=seed, score=score)


def describe(card: dict[str, Any]) -> str:
    """The network of a card in a few words: classes, parameters, FLOPs."""
    return (
        f"{card['n_classes']} classes, {card['params'] / 1e6:.3f} M params, "
        f"{card['flops'] / 1e6:.1f} M FLOPs (multiply-adds)"
    )


def run(args: argparse.Namespace) -> int:
    """Scores the architecture and exports it."""
    out = check_output_dir(args.out, "export")
    space, builder = _common.resolve_space(args.space)
    key = space.key(space.parse(args.arch))
    proxies = _common.resolve_proxies(args.proxy, args.variant)
    if len(proxies) != 1:
        raise InvalidParameterError("export takes one --proxy (the score its card records).")
    proxy = proxies[0]
    device = _common.resolve_device(args.device)
    batch = _common.resolve_batch(args, seed=args.seed, proxies=[proxy])
    _common.note_batch(args, space, batch)
    (job,) = _common.scoring_jobs(
        args, space, builder, [proxy], batch, seed=args.seed, device=device
    )
    store = _common.open_store(args)
    try:
        pool = _common.score_pool(args, [key], [job], store, progress=False)
        (record,) = pool[_common.proxy_label(job.proxy)]
    finally:
        if store is not None:
            store.close()
    print(f"{key}  score {_common.format_score(record.score)}  ({record.status})")
    card = export_to(
        args, space, key, out, seed=args.seed, score=score_info(record, job, batch, args.seed)
    )
    print(f"wrote {out / E.MODEL}, {out / E.STATE_DICT}, {out / E.CARD}: {describe(card)}")
    return 0
