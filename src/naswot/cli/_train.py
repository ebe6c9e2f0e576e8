"""``naswot train``: train an architecture (or an exported folder) with NAS-Bench-201's recipe."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from naswot import export as E
from naswot._io import check_output_dir
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.data.shapes import n_classes_of
from naswot.exceptions import InvalidParameterError
from naswot.training import CHECKPOINT, LOG, EpochRecord, TrainConfig, Trainer, load_image_data
from naswot.training.data import TRAIN_DATASETS

_DEFAULTS = TrainConfig()


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``train`` command."""
    p = commands.add_parser(
        "train",
        help=command_help("train"),
        description="Train a network on the training split and evaluate it on the whole test "
        "split after every epoch: SGD (Nesterov momentum 0.9, weight decay 5e-4), learning "
        "rate 0.1 cosine to 0, batch 256, 200 epochs, random crop (padding 4) and flip. Writes "
        f"OUT/{LOG} and OUT/{CHECKPOINT} every epoch, then OUT/state_dict.pt, OUT/model.pt2 "
        "and OUT/card.json with the final test accuracy.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="the architecture string (with --space)")
    which.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        metavar="DIR",
        help="an exported folder: rebuild the network from its card.json and state_dict.pt",
    )
    p.add_argument(
        "--space",
        default="nb201",
        help="search space of --arch (default: nb201; ignored with --from)",
    )
    p.add_argument(
        "--dataset",
        choices=list(TRAIN_DATASETS),
        default=None,
        help="dataset to train on (default: the card's with --from, else cifar10)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="folder holding the official dataset folder (cifar-10-batches-py, cifar-100-python)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the log, checkpoint, weights and card (default: the --from folder; "
        "required with --arch)",
    )
    p.add_argument(
        "--epochs",
        type=_common.positive_int,
        default=_DEFAULTS.epochs,
        help=f"epochs (default: {_DEFAULTS.epochs})",
    )
    p.add_argument(
        "--batch-size",
        type=_common.positive_int,
        default=_DEFAULTS.batch_size,
        help=f"images per step (default: {_DEFAULTS.batch_size})",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=_DEFAULTS.lr,
        help=f"initial learning rate, cosine to 0 (default: {_DEFAULTS.lr})",
    )
    p.add_argument(
        "--limit",
        type=_common.positive_int,
        default=None,
        metavar="N",
        help="train on the first N training images only (default: all); the test split is "
        "always evaluated whole",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the initial weights (with --arch; default: 1), of the augmentation and "
        "of torch's generator (default: the card's seed with --from, else 1)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"continue from OUT/{CHECKPOINT} (bit-identical to an uninterrupted run)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Trains and writes the results."""
    if args.from_dir is not None:
        model, card = E.rebuild(args.from_dir)
        out = args.out or args.from_dir
        seed = args.seed if args.seed is not None else int(card.get("init", {}).get("seed", 1))
        dataset = args.dataset or card["dataset"]
        if dataset not in TRAIN_DATASETS:
            raise InvalidParameterError(
                f"The card's dataset is {dataset!r}; naswot train reads "
                f"{', '.join(TRAIN_DATASETS)} (pass --dataset)."
            )
        if n_classes_of(dataset) != card["n_classes"]:
            raise InvalidParameterError(
                f"{args.from_dir} holds a network with {card['n_classes']} classes; {dataset} "
                "has another number. Export again with --dataset."
            )
    else:
        if args.out is None:
            raise InvalidParameterError("train --arch needs --out DIR (where the results go).")
        out, dataset = args.out, args.dataset or "cifar10"
        seed = 1 if args.seed is None else args.seed
        card = None
    out = check_output_dir(out, "training")
    device = _common.resolve_device(args.device)
    data = load_image_data(dataset, args.data_dir, limit=args.limit)
    if card is None:
        card = E.export(args.space, args.arch, out, dataset=dataset, seed=seed)
        model, card = E.rebuild(out)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=seed,
        limit=args.limit,
    )
    _common.note(args, f"data: {data.source}")
    _common.note(args, f"network: {card['arch']} ({card['params'] / 1e6:.3f} M params)")

    def report(r: EpochRecord) -> None:
        print(
            f"epoch {r.epoch}/{config.epochs}  lr {r.lr:.4f}  train loss {r.train_loss:.4f} "
            f"acc {r.train_acc:.2f} %  test loss {r.test_loss:.4f} acc {r.test_acc:.2f} %  "
            f"({r.seconds:.1f} s)",
            flush=True,
        )

    trainer = Trainer(
        model, data, config, out, device=device, progress=not args.quiet, on_epoch=report
    )
    if args.resume:
        trainer.resume()
        _common.note(args, f"resumed from {trainer.checkpoint_path} after epoch {trainer.epoch}")
    try:
        log = trainer.run()
    except KeyboardInterrupt:
        print(
            f"naswot: interrupted; {trainer.epoch} epochs are in {trainer.checkpoint_path}, "
            "rerun with --resume to continue.",
            file=sys.stderr,
        )
        return 130
    if not log:
        raise InvalidParameterError(f"Nothing to train: --epochs {config.epochs} and no epoch ran.")
    final = log[-1]
    model.cpu()
    E.save_trained(
        out,
        model,
        card,
        training={
            "recipe": asdict(config),
            "dataset": dataset,
            "data": data.source,
            "device": str(device),
            "epochs_done": final.epoch,
            "final_test_acc": final.test_acc,
            "final_test_loss": final.test_loss,
            "n_test_images": len(data.test_labels),
            "n_train_images": len(data.train_labels),
            "seconds": sum(r.seconds for r in log),
            "log": LOG,
            "checkpoint": CHECKPOINT,
        },
    )
    print(
        f"final test accuracy {final.test_acc:.2f} % on {len(data.test_labels)} test images "
        f"after {final.epoch} epochs; wrote {out / E.STATE_DICT}, {out / E.MODEL}, "
        f"{out / E.CARD}, {out / LOG}"
    )
    return 0
