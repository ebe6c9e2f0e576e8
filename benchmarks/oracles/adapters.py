"""How to call each proxy's reference implementation (the authors' or foresight's code).

An adapter imports the reference code from the folder the user gives (``--code-dir``: a checkout,
or the files listed in ``FILES``, at their repository paths) and returns a function
``score(model, batch, seed) -> float`` that runs it on ``model`` (a deep copy of the network
naswot scores, so both see the same weights). Nothing here is copied from those projects: the
adapters only import their functions, give them the arguments they expect, and stub the imports
the scored function does not use (data loaders, model zoos) so that torchvision, CUDA or a
benchmark API are not needed.
"""

from __future__ import annotations

import importlib
import math
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from naswot.data.batch import Batch

Score = Callable[[nn.Module, Batch, int], float]


@dataclass(frozen=True)
class Adapter:
    """One reference implementation.

    Attributes:
        proxy: the naswot proxy (``name`` or ``name:variant``) it is compared with.
        repo: the GitHub repository of the reference code.
        files: the files of ``repo`` the adapter imports (relative to ``--code-dir``).
        load: ``load(code_dir)`` imports the code and returns the scoring function.
        n_classes: the network's outputs, when the reference needs a head other than the one
            naswot scores with (None: as naswot's scoring runner builds it).
        undo: like ``load``, but the reference with naswot's documented deviation from it
            undone (``oracle.py --undo-deviation``), when there is one.
    """

    proxy: str
    repo: str
    files: tuple[str, ...]
    load: Callable[[Path], Score]
    n_classes: int | None = None
    undo: Callable[[Path], Score] | None = None


def _on_path(code_dir: Path) -> None:
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))


def _stub(name: str, **attributes: Any) -> None:
    """Registers an empty module ``name`` (imports the scored function does not need)."""
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules.setdefault(name, module)


# foresight (SamsungLabs/zero-cost-nas v1.0.0): every measure through its own registry, summed
# by its own find_measures, on foresight's prunable copy of the network.


def _foresight(measure: str) -> Callable[[Path], Score]:
    def load(code_dir: Path) -> Score:
        _on_path(code_dir)
        predictive = importlib.import_module("foresight.pruners.predictive")
        measures = importlib.import_module("foresight.pruners.measures")
        if measure == "l2_norm":  # defined but not loaded by foresight's load_all()
            importlib.import_module("foresight.pruners.measures.l2_norm")

        def score(model: nn.Module, batch: Batch, seed: int) -> float:
            model.get_prunable_copy = types.MethodType(predictive.copynet, model)  # type: ignore[assignment]
            assert batch.targets is not None
            # fresh inputs: jacob_cov reads (accumulated) x.grad, as foresight's loader gives
            inputs, targets = batch.inputs.clone(), batch.targets.clone()
            extra = {} if measure == "l2_norm" else {"loss_fn": F.cross_entropy}
            arrays = measures.calc_measure(
                measure, model, torch.device("cpu"), inputs, targets, split_data=1, **extra
            )
            values = predictive.find_measures(
                model, None, None, torch.device("cpu"), measures_arr={measure: arrays}
            )
            return float(values[measure])

        return score

    return load


# Zen-NAS (idstcv/ZenNAS): compute_nas_score with one repeat after torch.manual_seed(seed); the
# network gets the forward_pre_GAP method the ZenNAS models have (the input of the last
# AdaptiveAvgPool, read by a hook).


def _zen(code_dir: Path) -> Score:
    _on_path(code_dir / "ZeroShotProxy")
    _on_path(code_dir)
    _stub("global_utils")
    _stub("ModelLoader")
    zen = importlib.import_module("compute_zen_score")

    def score(model: nn.Module, batch: Batch, seed: int) -> float:
        model.forward_pre_GAP = types.MethodType(_pre_gap, model)  # type: ignore[assignment]
        b, _, h, _ = batch.inputs.shape
        torch.manual_seed(seed)
        info = zen.compute_nas_score(None, model, 1e-2, h, b, repeat=1)
        return float(info["avg_nas_score"])

    return score


def _pre_gap(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    seen: list[torch.Tensor] = []
    handle = pools[-1].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    try:
        model(x)
    finally:
        handle.remove()
    return seen[-1]


# ZiCo (SLDGroup/ZiCo): getzico over the two halves of the batch as two loader batches. Its
# .cuda() calls are answered on the CPU.


class _OnCpu:
    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def cuda(self) -> torch.Tensor:
        return self.tensor


def _zico(code_dir: Path) -> Score:
    _on_path(code_dir / "ZeroShotProxy")
    _on_path(code_dir)
    _stub("global_utils")
    _stub("ModelLoader")
    zico = importlib.import_module("compute_zico")

    def score(model: nn.Module, batch: Batch, seed: int) -> float:
        assert batch.targets is not None
        halves = torch.tensor_split(torch.arange(len(batch.inputs)), 2)
        loader = [(_OnCpu(batch.inputs[i]), _OnCpu(batch.targets[i])) for i in halves]
        model.cuda = types.MethodType(lambda self: self, model)  # type: ignore[method-assign]
        return float(zico.getzico(model, loader, F.cross_entropy))

    return score


# MeCo (HamsterMimi/MeCo): get_score of the NAS-Bench-201 script on the batch's first image.


def _meco(code_dir: Path) -> Score:
    _on_path(code_dir / "correlation")
    for name in ("foresight", "foresight.models", "foresight.models.nasbench2"):
        _stub(name)
    _stub("foresight.dataset", torch=torch)  # the script takes torch from its star import
    _stub("foresight.weight_initializers", init_net=None)
    _stub("models", get_cell_based_tiny_net=None)
    meco = importlib.import_module("NAS_Bench_201")

    def score(model: nn.Module, batch: Batch, seed: int) -> float:
        return float(meco.get_score(model, batch.inputs[:1], torch.device("cpu"), "meco"))

    return score


# SWAP (pym1024/SWAP): SWAP(...).forward() on the batch (run with --batch-size 16: the paper's
# 16 samples, so naswot's swap scores one chunk too).


def _swap(code_dir: Path) -> Score:
    _on_path(code_dir)
    swap = importlib.import_module("src.metrics.swap")

    def score(model: nn.Module, batch: Batch, seed: int) -> float:
        return float(swap.SWAP(model=model, inputs=batch.inputs, device="cpu").forward())

    return score


# epsinas (egracheva/epsinas): epsinas_main over a one-network search space, weights (1e-7, 1);
# its NB201 networks return (features, logits), so the network is wrapped to return a pair.


class _Pair(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(x), None


class _OneNetwork:
    def __init__(self, net: nn.Module) -> None:
        self.net = _Pair(net)

    def __getitem__(self, index: int) -> int:
        return index

    def get_network(self, uid: int) -> nn.Module:
        return self.net

    def get_final_accuracy(self, uid: int, acc_type: object, trainval: object) -> float:
        return 0.0


def _epsinas(code_dir: Path) -> Score:
    _on_path(code_dir / "NAS-Bench-201")
    for name in ("seaborn", "matplotlib", "matplotlib.pyplot", "matplotlib.colors"):
        _stub(name)
    _stub("matplotlib.ticker", MaxNLocator=None)
    eps = importlib.import_module("epsinas_utils")

    def score(model: nn.Module, batch: Batch, seed: int) -> float:
        args = types.SimpleNamespace(acc_type=None, trainval=False)
        out = eps.epsinas_main(
            batch.inputs, "201", _OneNetwork(model), 1, [1e-7, 1.0], torch.device("cpu"), args
        )
        return float(out["score"][0])

    return score


# AZ-NAS and VKDNW (ondratybl/VKDNW, NB201/ZeroShotProxy/): compute_nas_score, given naswot's
# draws. naswot draws from one torch.Generator seeded with the proxy seed: the Kaiming fan-in
# weights, the seed of the N(0, 1) inputs, then the proxy's own draws (AZ-NAS's Rademacher probes,
# VKDNW's weight positions). The adapter makes the same draws, loads the weights into the network
# (their init_model is replaced by a no-op), passes the inputs as a one-batch trainloader, and
# answers the reference's own draws from the same generator, in naswot's order: AZ-NAS's probes
# (its torch.bernoulli, through a torch module seen only by that file) and VKDNW's positions
# (one entry per tensor; theirs, p=1, is entry 0: see _jacobian_at).


class _Torch(types.ModuleType):
    """``torch`` as the reference module sees it: ``overrides`` first, then torch itself."""

    def __init__(self, **overrides: Any) -> None:
        super().__init__("torch")
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


def _naswot_draws(
    model: nn.Module, batch: Batch, seed: int
) -> tuple[torch.Tensor, torch.Generator]:
    """Loads naswot's Kaiming weights into ``model``; its inputs and the generator, as naswot."""
    from naswot.proxies._common import noise_like
    from naswot.proxies.az_nas import kaiming_fan_in

    generator = torch.Generator().manual_seed(seed)
    params = kaiming_fan_in(model, generator)
    (seed_x,) = torch.randint(0, 2**62, (1,), generator=generator).tolist()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(params[name])
    return noise_like(batch.inputs, seed_x), generator


def _zero_shot(code_dir: Path, name: str) -> Any:
    _on_path(code_dir / "NB201" / "ZeroShotProxy")
    module: Any = importlib.import_module(name)
    module.init_model = lambda model, method: model
    return module


def _cell_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The stem's and every cell's output (the NB201 TinyNetwork's extract_cell_features)."""
    net: Any = model
    feature = net.stem(x)
    features = [feature]
    for cell in net.cells:
        feature = cell(feature)
        features.append(feature)
    return features


def _az(component: str) -> Callable[[Path], Score]:
    def load(code_dir: Path) -> Score:
        az = _zero_shot(code_dir, "compute_az_nas_score")

        def score(model: nn.Module, batch: Batch, seed: int) -> float:
            x, generator = _naswot_draws(model, batch, seed)
            az.torch = _Torch(
                bernoulli=lambda p: torch.randint(0, 2, p.shape, generator=generator).to(p)
            )
            model.extract_cell_features = types.MethodType(_cell_features, model)  # type: ignore[assignment]
            model.cuda = types.MethodType(lambda self: self, model)  # type: ignore[method-assign]
            b, _, h, _ = x.shape
            return float(az.compute_nas_score(model, None, [(x,)], h, b)[component])

        return score

    return load


class _FeaturesLogits(nn.Module):
    """The network as the NB201 TinyNetwork returns it: (features, logits); VKDNW reads [1]."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, self.net(x)


def _vkdnw(single: bool, *, undo: bool = False) -> Callable[[Path], Score]:
    def load(code_dir: Path) -> Score:
        vk = _zero_shot(code_dir, "compute_vkdnw_score")
        cholesky = vk.cholesky_covariance
        if undo:  # naswot's Fisher J^T L L^T J: their J^T L^T L J with L^T in place of L
            vk.cholesky_covariance = lambda out: cholesky(out).transpose(1, 2)

        def score(model: nn.Module, batch: Batch, seed: int) -> float:
            x, generator = _naswot_draws(model, batch, seed)
            n_tensors = 128  # naswot's N_TENSORS, their params_grad_len
            numels = [p.numel() for _, p in model.named_parameters()][:n_tensors]
            picks = [int(torch.randint(0, n, (1,), generator=generator)) for n in numels]
            vk.get_jacobian_index = lambda net, inputs, p_count, n: _jacobian_at(net, inputs, picks)
            net = _FeaturesLogits(model)
            net.cuda = types.MethodType(lambda self: self, net)  # type: ignore[method-assign]
            b, _, h, _ = x.shape
            info = vk.compute_nas_score(net, None, [(x,)], h, b, params_grad_len=n_tensors, p=1.0)
            entropy = float(info["vkdnw_entropy"])
            return float(info["vkdnw_dim"]) + entropy / math.log(10) if single else entropy

        return score

    return load


def _jacobian_at(net: nn.Module, inputs: torch.Tensor, picks: list[int]) -> torch.Tensor:
    """(B, C, P): d logit_c(image b) / d (the picked entry of each of the first P tensors).

    Stands in for their get_jacobian_index, which torch 2's torch.func refuses (it writes the
    differentiated entries in place into a captured parameter): one autograd pass per image and
    class instead, on the network in the mode their get_fisher set (eval).
    """
    params = [p for _, p in net.named_parameters()][: len(picks)]
    rows = []
    for image in inputs:
        logits = net(image[None])[1][0]
        per_class = []
        for c in range(len(logits)):
            grads = torch.autograd.grad(logits[c], params, retain_graph=True, allow_unused=True)
            per_class.append(
                torch.stack(
                    [
                        g.flatten()[i] if g is not None else logits.new_zeros(())
                        for g, i in zip(grads, picks, strict=True)
                    ]
                )
            )
        rows.append(torch.stack(per_class))
    return torch.stack(rows).detach()


_FORESIGHT = "SamsungLabs/zero-cost-nas"
_FORESIGHT_FILES = ("foresight/",)

ADAPTERS: dict[str, Adapter] = {
    **{
        name: Adapter(name, _FORESIGHT, _FORESIGHT_FILES, _foresight(name))
        for name in ("snip", "grad_norm", "grasp", "fisher", "jacob_cov", "plain", "l2_norm")
    },
    "synflow": Adapter("synflow", _FORESIGHT, _FORESIGHT_FILES, _foresight("synflow")),
    "fisher:per_channel": Adapter(
        "fisher:per_channel", _FORESIGHT, _FORESIGHT_FILES, _foresight("fisher")
    ),
    "zen": Adapter("zen", "idstcv/ZenNAS", ("ZeroShotProxy/compute_zen_score.py",), _zen),
    "zen:batch_stats": Adapter(
        "zen:batch_stats", "idstcv/ZenNAS", ("ZeroShotProxy/compute_zen_score.py",), _zen
    ),
    "epsinas": Adapter(
        "epsinas", "egracheva/epsinas", ("NAS-Bench-201/epsinas_utils.py",), _epsinas
    ),
    "swap": Adapter("swap", "pym1024/SWAP", ("src/metrics/swap.py", "src/utils/"), _swap),
    "zico": Adapter("zico", "SLDGroup/ZiCo", ("ZeroShotProxy/compute_zico.py",), _zico),
    **{
        name: Adapter(
            name, "ondratybl/VKDNW", ("NB201/ZeroShotProxy/compute_az_nas_score.py",), _az(part)
        )
        for name, part in (
            ("az_expressivity", "expressivity"),
            ("az_progressivity", "progressivity"),
            ("az_trainability", "trainability"),
        )
    },
    **{
        name: Adapter(
            name,
            "ondratybl/VKDNW",
            ("NB201/ZeroShotProxy/compute_vkdnw_score.py",),
            _vkdnw(single),
            undo=_vkdnw(single, undo=True),
        )
        for name, single in (("vkdnw", False), ("vkdnw:single", True))
    },
    # MeCo's hook fails on a one-unit head (a 1x1 correlation); its score ignores the head.
    **{
        name: Adapter(name, "HamsterMimi/MeCo", ("correlation/NAS_Bench_201.py",), _meco, 10)
        for name in ("meco", "meco:conv_noise")
    },
}
