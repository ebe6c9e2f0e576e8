"""Converter from the official NAS-Bench-101 TFRecord file to our benchmark CSV, without TensorFlow.

NAS-Bench-101 (Ying et al., ICML 2019, arXiv 1902.09635) publishes ``nasbench_only108.tfrecord``
(108-epoch results) and ``nasbench_full.tfrecord`` (4, 12, 36 and 108 epochs). As the official
API (``google-research/nasbench``, ``nasbench/api.py``) reads them, each record of the TFRecord
file is UTF-8 JSON ``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]``:

* ``raw_adjacency``: ``n * n`` characters ``0``/``1``, the row-major upper-triangular matrix;
* ``raw_operations``: ``input,conv3x3-bn-relu,...,output``, one operation per vertex;
* ``raw_metrics``: base64 of a serialized ``ModelMetrics`` message (``nasbench/lib/
  model_metrics.proto``): ``repeated EvaluationData evaluation_data = 1``, ``int32
  trainable_parameters = 2``, ``double total_time = 3``; ``EvaluationData`` holds the doubles
  ``current_epoch = 1``, ``training_time = 2``, ``train_accuracy = 3``,
  ``validation_accuracy = 4``, ``test_accuracy = 5`` and the string ``checkpoint_path = 6``.

There is one record per training run: each cell was trained 3 times per epoch budget. Its
``evaluation_data`` holds the evaluations at the start, halfway and at the end of training; the
"final" values (the API's ``final_validation_accuracy`` ...) are those of the last one.

The TFRecord framing and its CRCs (:mod:`naswot.benchmarks._tfrecord`) and the protobuf wire
format (:mod:`naswot.benchmarks._protobuf`) are decoded in pure Python and numpy. Every cell's
``module_hash`` is checked against :func:`~naswot.spaces.nasbench101.graph_hash` of its matrix
and operations, and rows are keyed by the ``nb101`` space's canonical key. See
``docs/benchmarks.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tqdm import tqdm

from naswot.benchmarks import _protobuf as pb
from naswot.benchmarks._csv import write_csv
from naswot.benchmarks._tfrecord import iter_records
from naswot.exceptions import BenchmarkError, InvalidParameterError
from naswot.spaces.nasbench101 import NasBench101Space, Spec101, graph_hash

__all__ = [
    "DEFAULT_EPOCHS",
    "EvaluationData",
    "ModelMetrics",
    "columns",
    "convert_nb101_tfrecord",
    "parse_model_metrics",
]

log = logging.getLogger(__name__)

DEFAULT_EPOCHS: Final = 108
"""The epoch budget of the benchmark's headline results (the only one in nasbench_only108)."""

_HOWTO: Final = (
    "Download nasbench_only108.tfrecord (~499 MB) or nasbench_full.tfrecord (~1.95 GB) from the "
    "links in the NAS-Bench-101 README (https://github.com/google-research/nasbench), then run "
    "`naswot bench convert nb101 nasbench_only108.tfrecord nb101.csv`."
)
_SPACE: Final = NasBench101Space()


@dataclass(frozen=True, slots=True)
class EvaluationData:
    """One evaluation during a training run (``EvaluationData``; absent fields are 0 / "")."""

    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0
    checkpoint_path: str = ""


@dataclass(frozen=True, slots=True)
class ModelMetrics:
    """The metrics of one training run (``ModelMetrics``; absent fields are 0)."""

    evaluation_data: tuple[EvaluationData, ...] = ()
    trainable_parameters: int = 0
    total_time: float = 0.0


# EvaluationData's double fields, by field number (model_metrics.proto).
_EVALUATION_DOUBLES: Final = {
    1: "current_epoch",
    2: "training_time",
    3: "train_accuracy",
    4: "validation_accuracy",
    5: "test_accuracy",
}


def _evaluation_data(data: bytes) -> EvaluationData:
    values: dict[str, float] = {}
    path = ""
    for field, _, value in pb.iter_fields(data):
        name = _EVALUATION_DOUBLES.get(field)
        if name is not None:
            values[name] = pb.as_double(value, f"EvaluationData.{name}")
        elif field == 6:
            path = _string(value, "EvaluationData.checkpoint_path")
    return EvaluationData(**values, checkpoint_path=path)


def _string(value: int | bytes, field: str) -> str:
    if not isinstance(value, bytes):
        raise pb.WireFormatError(f"{field} should be a string (wire type 2)")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise pb.WireFormatError(f"{field} is not UTF-8") from None


def parse_model_metrics(data: bytes) -> ModelMetrics:
    """Decodes a serialized NAS-Bench-101 ``ModelMetrics`` message; unknown fields are skipped.

    Raises:
        InvalidParameterError: if ``data`` is not a well-formed ``ModelMetrics`` message.
    """
    evaluations: list[EvaluationData] = []
    params, total_time = 0, 0.0
    try:
        for field, _, value in pb.iter_fields(bytes(data)):
            if field == 1:
                if not isinstance(value, bytes):
                    raise pb.WireFormatError("ModelMetrics.evaluation_data should be a message")
                evaluations.append(_evaluation_data(value))
            elif field == 2:
                params = pb.as_int(value, "ModelMetrics.trainable_parameters")
            elif field == 3:
                total_time = pb.as_double(value, "ModelMetrics.total_time")
    except pb.WireFormatError as e:
        raise InvalidParameterError(f"Not a NAS-Bench-101 ModelMetrics message: {e}.") from None
    return ModelMetrics(tuple(evaluations), params, total_time)


def columns(epochs: int = DEFAULT_EPOCHS) -> tuple[str, ...]:
    """The columns of a converted CSV for an epoch budget, in order.

    At 108 epochs the accuracy columns carry the names ``naswot evaluate`` looks for
    (``val_acc_cifar10_valid``, ``test_acc_cifar10``); other budgets insert ``_<epochs>ep``
    (``val_acc_12ep_cifar10_valid``), as the NAS-Bench-201 tables do for their 12-epoch columns.
    """
    tag = "" if epochs == DEFAULT_EPOCHS else f"_{epochs}ep"
    return (
        "arch_str",
        "module_hash",
        f"val_acc{tag}_cifar10_valid",
        f"test_acc{tag}_cifar10",
        f"train_time{tag}_cifar10_valid",
        "params",
    )


@dataclass(frozen=True, slots=True)
class _Record:
    module_hash: str
    epochs: int
    adjacency: str
    operations: str
    metrics: str


class _Cell:
    """The running sums of one cell's training runs at the chosen budget."""

    __slots__ = ("adjacency", "key", "n", "operations", "params", "params_differ", "sums")

    def __init__(self, record: _Record, key: str, params: int) -> None:
        self.adjacency = record.adjacency
        self.operations = record.operations
        self.key = key
        self.params = params
        self.params_differ = False
        self.n = 0
        self.sums = [0.0, 0.0, 0.0]  # validation accuracy, test accuracy, training time

    def add(self, final: EvaluationData, params: int) -> None:
        self.n += 1
        self.sums[0] += final.validation_accuracy
        self.sums[1] += final.test_accuracy
        self.sums[2] += final.training_time
        self.params_differ |= params != self.params

    def row(self, module_hash: str, names: tuple[str, ...]) -> dict[str, str]:
        val, test, time = (s / self.n for s in self.sums)
        values = (self.key, module_hash, _number(100 * val), _number(100 * test), _number(time))
        return dict(zip(names, (*values, str(self.params)), strict=True))


def _number(value: float) -> str:
    return repr(value) if math.isfinite(value) else ""


def _parse_record(data: bytes, where: str) -> _Record:
    """The five JSON fields of one record."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BenchmarkError(
            f"{where} is not UTF-8 JSON ({e}); is this a NAS-Bench-101 file? {_HOWTO}"
        ) from None
    if not isinstance(value, list) or len(value) != 5:
        raise BenchmarkError(
            f"{where} is not a NAS-Bench-101 record: expected the JSON list [module_hash, "
            f"epochs, adjacency, operations, metrics], found {_describe(value)}."
        )
    module_hash, epochs, adjacency, operations, metrics = value
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise BenchmarkError(f"{where}: the epochs field is {_describe(epochs)}, not an integer.")
    for name, field in (("module_hash", module_hash), ("adjacency", adjacency)):
        if not isinstance(field, str):
            raise BenchmarkError(f"{where}: the {name} field is {_describe(field)}, not a string.")
    for name, field in (("operations", operations), ("metrics", metrics)):
        if not isinstance(field, str):
            raise BenchmarkError(f"{where}: the {name} field is {_describe(field)}, not a string.")
    return _Record(module_hash, epochs, adjacency, operations, metrics)


def _describe(value: object) -> str:
    text = json.dumps(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _spec(record: _Record, where: str) -> Spec101:
    """The cell of a record as stored (not pruned)."""
    bits = record.adjacency
    n = math.isqrt(len(bits))
    if n * n != len(bits) or not bits or set(bits) - {"0", "1"}:
        raise BenchmarkError(
            f"{where}: the adjacency {bits[:60]!r} is not n*n characters '0'/'1' (n <= 7)."
        )
    ops = tuple(record.operations.split(","))
    try:
        matrix = tuple(tuple(int(bits[i * n + j]) for j in range(n)) for i in range(n))
        return Spec101(matrix, ops)
    except InvalidParameterError as e:
        raise BenchmarkError(f"{where} is not a NAS-Bench-101 cell: {e}") from None


def _check_hash(spec: Spec101, record: _Record, where: str) -> None:
    try:
        computed = graph_hash(spec)
    except InvalidParameterError as e:
        raise BenchmarkError(f"{where} is not a NAS-Bench-101 cell: {e}") from None
    if computed != record.module_hash:
        raise BenchmarkError(
            f"{where}: its module_hash is {record.module_hash} but its cell ({record.adjacency}, "
            f"{record.operations}) hashes to {computed}. The file is not the NAS-Bench-101 "
            "benchmark, or naswot's graph hash differs from the benchmark's; nothing was written."
        )


def _new_cell(record: _Record, params: int, where: str, keys: dict[str, str]) -> _Cell:
    """Checks a cell seen for the first time and keys it."""
    spec = _spec(record, where)
    _check_hash(spec, record, where)
    try:
        key = _SPACE.key(spec)
    except InvalidParameterError as e:
        raise BenchmarkError(f"{where} is not in the NAS-Bench-101 space: {e}") from None
    other = keys.setdefault(key, record.module_hash)
    if other != record.module_hash:
        raise BenchmarkError(
            f"{where}: cells {other} and {record.module_hash} both have the key {key}."
        )
    return _Cell(record, key, params)


def _final(record: _Record, where: str) -> tuple[EvaluationData, int]:
    """The last evaluation of a record's training run, and the parameter count."""
    try:
        blob = base64.b64decode(record.metrics, validate=True)
    except binascii.Error as e:
        raise BenchmarkError(f"{where}: the metrics field is not base64 ({e}).") from None
    try:
        metrics = parse_model_metrics(blob)
    except InvalidParameterError as e:
        raise BenchmarkError(f"{where}: {e}") from None
    if not metrics.evaluation_data:
        raise BenchmarkError(f"{where}: its ModelMetrics holds no evaluation_data.")
    return metrics.evaluation_data[-1], metrics.trainable_parameters


def convert_nb101_tfrecord(
    src: Path, dst: Path, *, epochs: int = DEFAULT_EPOCHS, progress: bool = False
) -> int:
    """Converts the NAS-Bench-101 TFRecord file to our CSV, one row per cell.

    Each row holds the cell's canonical ``nb101`` key (``arch_str``), the benchmark's
    ``module_hash``, and the mean over its training runs at ``epochs`` of the final validation
    and test accuracy (percent) and training time (seconds), plus its trainable parameters; the
    columns are :func:`columns`.

    Args:
        src: ``nasbench_only108.tfrecord`` or ``nasbench_full.tfrecord``.
        dst: the CSV to write (replaced atomically; its folder is created).
        epochs: the training budget to read: 108, or 4, 12 or 36 from the full file.
        progress: show a progress bar on stderr.

    Returns:
        The number of cells written.

    Raises:
        BenchmarkError: naming the file and record (counted from 1) if ``src`` is missing, a CRC
            does not match, the file is truncated, a record is not NAS-Bench-101 JSON, a cell is
            invalid or its ``module_hash`` is not its graph hash; or if no record has ``epochs``.
        InvalidParameterError: if ``epochs`` is not a positive integer.

    Example:
        ::

            n = convert_nb101_tfrecord(Path("nasbench_only108.tfrecord"), Path("nb101.csv"))
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InvalidParameterError(
            "The 'epochs' parameter of convert_nb101_tfrecord must be an int >= 1. "
            f"Got {epochs!r} instead."
        )
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise BenchmarkError(f"NAS-Bench-101 file {src} not found. {_HOWTO}")
    cells: dict[str, _Cell] = {}
    keys: dict[str, str] = {}
    epochs_seen: set[int] = set()
    n_records = 0
    with tqdm(
        total=src.stat().st_size, unit="B", unit_scale=True, disable=not progress, desc="nb101"
    ) as bar:
        for n_records, data in enumerate(
            iter_records(src, on_bytes=lambda pos: bar.update(pos - bar.n)), start=1
        ):
            where = f"{src}: record {n_records}"
            record = _parse_record(data, where)
            epochs_seen.add(record.epochs)
            if record.epochs != epochs:
                continue
            final, params = _final(record, where)
            cell = cells.get(record.module_hash)
            if cell is None:
                cell = cells[record.module_hash] = _new_cell(record, params, where, keys)
            elif (record.adjacency, record.operations) != (cell.adjacency, cell.operations):
                _check_hash(_spec(record, where), record, where)
            cell.add(final, params)
    if n_records == 0:
        raise BenchmarkError(f"{src} holds no records; {dst} was not written. {_HOWTO}")
    if not cells:
        raise BenchmarkError(
            f"{src} holds no {epochs}-epoch results (its records have epochs "
            f"{sorted(epochs_seen)}); {dst} was not written."
        )
    differ = sum(cell.params_differ for cell in cells.values())
    if differ:
        log.warning(
            "%s: %d cells report different trainable_parameters across their runs; the first "
            "run's count is kept, as the official API does.",
            src,
            differ,
        )
    names = columns(epochs)
    write_csv([cell.row(h, names) for h, cell in cells.items()], names, dst)
    return len(cells)
