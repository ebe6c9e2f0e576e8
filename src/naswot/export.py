"""From an architecture to a network you can ship: ``build`` and ``export``.

:func:`build` is naswot's model factory (as ``timm.create_model``): a space object or a registered
name, an architecture, and the number of classes. :func:`export` writes a folder that needs no
naswot to use:

* ``model.pt2``: a :func:`torch.export.export` program of the network in eval mode (dynamic batch
  size), loadable with ``torch.export.load(path).module()``;
* ``state_dict.pt``: the weights, initialised as at scoring (seed ``derive_seed(seed, space,
  arch)``) or, after ``naswot train``, the trained ones;
* ``card.json``: space, architecture, dataset, classes, input shape, parameters, FLOPs, the score
  and how it was made, and (after training) the training record.

:func:`load_card` and :func:`rebuild` read such a folder back (``naswot train --from DIR``).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from naswot._io import atomic_path, atomic_write_text, check_output_dir
from naswot._seeding import derive_seed, torch_seeded
from naswot._version import __version__
from naswot.costs import count_cost
from naswot.data.shapes import input_shape, n_classes_of
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.networks import NetworkBuilder
from naswot.spaces import SearchSpace

__all__ = [
    "CARD",
    "MODEL",
    "STATE_DICT",
    "build",
    "export",
    "load_card",
    "rebuild",
    "resolve",
    "save_trained",
    "write_card",
]

MODEL = "model.pt2"
STATE_DICT = "state_dict.pt"
CARD = "card.json"


def resolve(space: SearchSpace[Any] | str) -> tuple[SearchSpace[Any], NetworkBuilder]:
    """The space and its builder, from a space object or a name (``nb201``, ``module:attr``).

    Raises:
        UnknownNameError: for an unknown registered name (with the choices) or module.
    """
    from naswot.networks import NETWORKS
    from naswot.spaces import SPACES
    from naswot.spaces.custom import is_custom_spec, load_custom_space

    if isinstance(space, str):
        if is_custom_spec(space):
            return load_custom_space(space)
        return SPACES.get(space), NETWORKS.get(space)
    builder = getattr(space, "build", None)
    if callable(builder):  # a custom space carries its builder
        return space, builder
    return space, NETWORKS.get(space.name)


def build(
    space: SearchSpace[Any] | str,
    arch: Any,
    *,
    n_classes: int = 10,
    seed: int | None = 1,
) -> nn.Module:  # Any: an architecture of ``space`` or its key string
    """A new network for ``arch`` of ``space`` with ``n_classes`` outputs.

    Args:
        space: a space object or a registered name (``naswot list spaces``) or ``module:attr``.
        arch: an architecture of the space, or its key string (parsed by the space).
        n_classes: the classifier's outputs (NASWOT itself scores with 1).
        seed: initialise as scoring with this run seed does (``derive_seed(seed, space, key)``);
            None draws from torch's global generator.

    Example:
        >>> net = build("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
        raise InvalidParameterError(
            f"The 'n_classes' parameter of build must be an int >= 1. Got {n_classes!r} instead."
        )
    the_space, builder = resolve(space)
    parsed = the_space.parse(arch) if isinstance(arch, str) else arch
    if seed is None:
        return builder(parsed, n_classes=n_classes)
    with torch_seeded(derive_seed(seed, the_space.name, the_space.key(parsed))):
        return builder(parsed, n_classes=n_classes)


def write_card(directory: Path, card: Mapping[str, Any]) -> Path:
    """Writes ``card.json`` in ``directory`` atomically; returns its path."""
    path = Path(directory) / CARD
    atomic_write_text(path, json.dumps(card, indent=2, default=str) + "\n")
    return path


def export_program(model: nn.Module, shape: tuple[int, ...], path: Path) -> None:
    """Writes a ``torch.export`` program of ``model`` in eval mode, batch size dynamic."""
    was_training = model.training
    model.eval()
    example = torch.zeros((2, *shape))
    try:
        program = torch.export.export(
            model, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},)
        )
    except Exception as e:  # torch raises many kinds; one line for the user
        raise NaswotError(
            f"torch.export could not trace the network ({type(e).__name__}: {e})."
        ) from e
    finally:
        model.train(was_training)
    with atomic_path(path) as tmp:
        torch.export.save(program, tmp)


def export(
    space: SearchSpace[Any] | str,
    arch: Any,
    out: Path | str,
    *,
    dataset: str = "cifar10",
    seed: int = 1,
    score: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Writes ``model.pt2``, ``state_dict.pt`` and ``card.json`` of ``arch`` into folder ``out``.

    Args:
        space: a space object or name.
        arch: an architecture or its key.
        out: the folder (created if missing; the three files are replaced atomically).
        dataset: sets the class count and input shape (``cifar10``: 10 classes, 3x32x32).
        seed: the scoring run seed; the weights are initialised as scoring initialised them.
        score: what to record about the score (value, proxy, variant, batch, ...), or None.

    Returns:
        The card that was written.
    """
    out = check_output_dir(Path(out), "export")
    the_space, _ = resolve(space)
    key = the_space.key(the_space.parse(arch) if isinstance(arch, str) else arch)
    n_classes = n_classes_of(dataset)
    shape = input_shape(dataset)
    model = build(the_space, key, n_classes=n_classes, seed=seed)
    cost = count_cost(model, shape)
    export_program(model, shape, out / MODEL)
    with atomic_path(out / STATE_DICT) as tmp:
        torch.save(model.state_dict(), tmp)
    card: dict[str, Any] = {
        "space": the_space.name,
        "space_spec": getattr(the_space, "spec", the_space.name),
        "arch": key,
        "dataset": dataset,
        "n_classes": n_classes,
        "input_shape": list(shape),
        "params": cost.params,
        "flops": cost.flops,
        "flops_meaning": "multiply-adds of one forward of one input (conv and linear layers)",
        "init": {"seed": seed, "init_seed": derive_seed(seed, the_space.name, key)},
        "score": dict(score) if score is not None else None,
        "files": {"model": MODEL, "state_dict": STATE_DICT},
        "weights": "initial (as scored)",
        "training": None,
        "naswot_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_card(out, card)
    return card


def load_card(directory: Path | str) -> dict[str, Any]:
    """The card of an exported folder; raises NaswotError when it is missing or malformed."""
    path = Path(directory) / CARD
    try:
        card = json.loads(path.read_text())
    except OSError as e:
        raise NaswotError(
            f"Cannot read {path}: {e.strerror}; --from takes a folder made by `naswot export`."
        ) from None
    except json.JSONDecodeError as e:
        raise NaswotError(f"{path} is not JSON ({e.msg}, line {e.lineno}).") from None
    missing = [k for k in ("space", "arch", "n_classes", "dataset") if k not in card]
    if not isinstance(card, dict) or missing:
        raise NaswotError(f"{path} is not a naswot card (missing {', '.join(missing)}).")
    return card


def rebuild(directory: Path | str) -> tuple[nn.Module, dict[str, Any]]:
    """The network of an exported folder, with the weights of its ``state_dict.pt``."""
    directory = Path(directory)
    card = load_card(directory)
    model = build(card.get("space_spec", card["space"]), card["arch"], n_classes=card["n_classes"])
    path = directory / STATE_DICT
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise NaswotError(f"Cannot read {path}: {e.strerror}.") from None
    except Exception as e:  # a corrupt or foreign file: one line
        raise NaswotError(f"{path} is not a state dict ({type(e).__name__}: {e}).") from e
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise NaswotError(f"{path} does not fit {card['arch']}: {e}") from None
    return model, card


def save_trained(
    directory: Path | str, model: nn.Module, card: Mapping[str, Any], *, training: Mapping[str, Any]
) -> dict[str, Any]:
    """Replaces the folder's weights and program by ``model``'s and records ``training``."""
    directory = Path(directory)
    shape = tuple(card.get("input_shape") or input_shape(card["dataset"]))
    with atomic_path(directory / STATE_DICT) as tmp:
        torch.save(model.state_dict(), tmp)
    export_program(model, shape, directory / MODEL)
    new = {**card, "weights": "trained", "training": dict(training)}
    new["trained_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_card(directory, new)
    return new
