"""The NAS-Bench-101 TFRecord converter: CRC-32C, protobuf wire decoding, framing, conversion.

The fixtures write small TFRecord files in the official layout (our own writer below, framed
with naswot's CRC, which is itself checked against published CRC-32C vectors): each record is
JSON ``[module_hash, epochs, adjacency, operations, base64(ModelMetrics)]``; 3 cells x 3
training runs x epochs {4, 108}, in shuffled order, with decoy values at the start and halfway
evaluations and unknown protobuf fields, so a wrong field, evaluation or epoch gives a wrong
number.
"""

import base64
import contextlib
import csv
import json
import random
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naswot.benchmarks import load_table
from naswot.benchmarks._protobuf import (
    WireFormatError,
    as_int,
    decode_varint,
    iter_fields,
)
from naswot.benchmarks._tfrecord import (
    _masked_crc32c_many,
    crc32c,
    iter_records,
    masked_crc32c,
)
from naswot.benchmarks.convert import CONVERTERS
from naswot.benchmarks.nb101 import (
    EvaluationData,
    columns,
    convert_nb101_tfrecord,
    parse_model_metrics,
)
from naswot.cli import main
from naswot.exceptions import BenchmarkError, InvalidParameterError
from naswot.spaces.nasbench101 import NasBench101Space, Spec101, graph_hash

SPACE = NasBench101Space()

# --------------------------------------------------------------------------------------------
# A tiny writer: protobuf wire format, ModelMetrics, JSON records, TFRecord framing


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def f64(field: int, x: float) -> bytes:
    return tag(field, 1) + struct.pack("<d", x)


def blob(field: int, data: bytes) -> bytes:
    return tag(field, 2) + varint(len(data)) + data


def evaluation(epoch: float, time: float, train: float, val: float, test: float) -> bytes:
    path = blob(6, f"/ckpt/model.ckpt-{int(epoch)}".encode())
    return f64(1, epoch) + f64(2, time) + f64(3, train) + f64(4, val) + f64(5, test) + path


def model_metrics(evaluations: list[bytes], params: int, total_time: float) -> bytes:
    unknown = tag(9, 0) + varint(7) + tag(10, 5) + b"\x01\x02\x03\x04" + blob(11, b"xyz")
    fields = b"".join(blob(1, e) for e in evaluations)
    return fields + unknown + tag(2, 0) + varint(params) + f64(3, total_time)


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    crcs = struct.pack("<I", masked_crc32c(length)), struct.pack("<I", masked_crc32c(data))
    return length + crcs[0] + data + crcs[1]


def record(module_hash: str, epochs: int, adjacency: str, ops: str, metrics: bytes) -> bytes:
    b64 = base64.b64encode(metrics).decode()
    return json.dumps([module_hash, epochs, adjacency, ops, b64]).encode()


@dataclass(frozen=True)
class Cell:
    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    params: int

    @property
    def spec(self) -> Spec101:
        return Spec101(self.matrix, self.ops)

    @property
    def adjacency(self) -> str:
        return "".join(str(x) for row in self.matrix for x in row)

    @property
    def operations(self) -> str:
        return ",".join(self.ops)


C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
# A row of the benchmark (its published hash and parameter count).
OFFICIAL_HASH = "00005c142e6f48ac74fdcf73e3439874"
OFFICIAL = Cell(
    (
        (0, 1, 0, 0, 1, 1, 0),
        (0, 0, 1, 0, 0, 0, 0),
        (0, 0, 0, 1, 0, 0, 1),
        (0, 0, 0, 0, 0, 1, 0),
        (0, 0, 0, 0, 0, 1, 0),
        (0, 0, 0, 0, 0, 0, 1),
        (0, 0, 0, 0, 0, 0, 0),
    ),
    ("input", C3, MP, C3, C3, C1, "output"),
    8_555_530,
)
# 5 vertices, not in canonical vertex order.
SMALL = Cell(
    ((0, 1, 1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0)),
    ("input", MP, C3, C1, "output"),
    1_234_567,
)
# 2 vertices: the input feeds the output directly.
PLAIN = Cell(((0, 1), (0, 0)), ("input", "output"), 227_274)
CELLS = (OFFICIAL, SMALL, PLAIN)
EPOCHS = (4, 108)
REPEATS = 3


def final_values(i: int, epochs: int, repeat: int) -> tuple[float, float, float]:
    """(validation accuracy, test accuracy, training time) at the end of one run."""
    val = 0.80 + 0.01 * i + 0.001 * repeat + (0.05 if epochs == 108 else 0.0)
    return val, val - 0.003 - 0.0001 * repeat, 100.0 * (i + 1) + 7 * repeat + epochs


def cell_records(i: int, cell: Cell, epochs: int, *, module_hash: str | None = None) -> list[bytes]:
    out = []
    for r in range(REPEATS):
        val, test, time = final_values(i, epochs, r)
        evaluations = [
            evaluation(0.0, 0.0, 0.1, 0.1, 0.1),  # decoys at the start and halfway
            evaluation(epochs / 2, time / 2, 0.5, 0.5, 0.5),
            evaluation(float(epochs), time, 1.0, val, test),
        ]
        metrics = model_metrics(evaluations, cell.params, time + 50)
        h = module_hash or graph_hash(cell.spec)
        out.append(record(h, epochs, cell.adjacency, cell.operations, metrics))
    return out


def all_records(cells: tuple[Cell, ...] = CELLS) -> list[bytes]:
    records = [r for i, c in enumerate(cells) for e in EPOCHS for r in cell_records(i, c, e)]
    random.Random(0).shuffle(records)
    return records


def write(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"".join(frame(r) for r in records))
    return path


def offsets(records: list[bytes]) -> list[int]:
    """The byte offset of each record's header."""
    return [sum(16 + len(r) for r in records[:k]) for k in range(len(records))]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------------------------
# CRC-32C and the TFRecord framing


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x00000000),
        (b"a", 0xC1D04330),
        (b"abc", 0x364B3FB7),
        (b"123456789", 0xE3069283),  # the catalogue check value of CRC-32C
        (b"The quick brown fox jumps over the lazy dog", 0x22620404),
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_known_vectors(data: bytes, expected: int) -> None:
    assert crc32c(data) == expected
    rotated = ((expected >> 15) | (expected << 17)) & 0xFFFFFFFF
    assert masked_crc32c(data) == (rotated + 0xA282EAD8) & 0xFFFFFFFF


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=24))
def test_vectorised_crc_equals_the_byte_loop(chunks: list[bytes]) -> None:
    buf = np.frombuffer(b"".join(chunks) + b"\x00", dtype=np.uint8)
    lengths = np.array([len(c) for c in chunks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    got = _masked_crc32c_many(buf, starts, lengths)
    assert got.tolist() == [masked_crc32c(c) for c in chunks]


def test_vectorised_crc_with_long_and_empty_records() -> None:
    rng = np.random.default_rng(0)
    chunks = [rng.bytes(int(n)) for n in rng.integers(0, 700, size=300)]
    chunks += [b"", rng.bytes(5000)]  # one long record runs on alone (the byte-loop tail)
    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    lengths = np.array([len(c) for c in chunks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    assert _masked_crc32c_many(buf, starts, lengths).tolist() == [masked_crc32c(c) for c in chunks]


def test_iter_records_round_trip(tmp_path: Path) -> None:
    records = [b"", b"x", b"hello" * 100, bytes(range(256))]
    assert list(iter_records(write(tmp_path / "r.tfrecord", records))) == records
    assert list(iter_records(write(tmp_path / "empty.tfrecord", []))) == []


# --------------------------------------------------------------------------------------------
# Protobuf wire format


@given(st.integers(0, 2**64 - 1), st.binary(max_size=3), st.binary(max_size=3))
def test_varint_round_trip(n: int, before: bytes, after: bytes) -> None:
    encoded = varint(n)
    assert len(encoded) <= 10
    assert decode_varint(before + encoded + after, len(before)) == (
        n,
        len(before) + len(encoded),
    )


@given(st.integers(-(2**63), 2**63 - 1))
def test_signed_varint_round_trip(n: int) -> None:
    value, _ = decode_varint(varint(n))
    assert as_int(value, "x") == n


@given(st.binary(max_size=64))
def test_malformed_messages_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(WireFormatError):
        list(iter_fields(data))
    with contextlib.suppress(InvalidParameterError):
        parse_model_metrics(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80", "ends inside a varint"),
        (b"\xff" * 11, "longer than 10 bytes"),
        (tag(4, 1) + b"\x00\x01", "ends inside a 64-bit field"),
        (blob(1, b"abc")[:-1], "ends inside a length-delimited field"),
        (tag(3, 3), "wire type 3"),
        (b"\x00", "field number 0"),
    ],
)
def test_wire_errors(data: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        list(iter_fields(data))


def test_parse_model_metrics() -> None:
    data = model_metrics(
        [evaluation(0, 0, 0.1, 0.1, 0.1), evaluation(108, 1500.5, 1.0, 0.93, 0.925)], 42, 1600.0
    )
    metrics = parse_model_metrics(data)
    assert metrics.trainable_parameters == 42
    assert metrics.total_time == 1600.0
    assert metrics.evaluation_data[-1] == EvaluationData(
        108.0, 1500.5, 1.0, 0.93, 0.925, "/ckpt/model.ckpt-108"
    )
    assert parse_model_metrics(b"").evaluation_data == ()
    with pytest.raises(InvalidParameterError, match="trainable_parameters should be a varint"):
        parse_model_metrics(f64(2, 1.0))
    with pytest.raises(InvalidParameterError, match="validation_accuracy should be a double"):
        parse_model_metrics(blob(1, tag(4, 0) + varint(1)))


def test_parse_agrees_with_the_protobuf_runtime() -> None:
    """An oracle: the protobuf package (when installed) reads our writer and writes our input."""
    descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
    from google.protobuf import descriptor_pool, message_factory

    proto = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="nb101_test.proto", package="nbt")
    ev = file.message_type.add(name="EvaluationData")
    names = ["current_epoch", "training_time", "train_accuracy"]
    names += ["validation_accuracy", "test_accuracy"]
    for number, name in enumerate(names, start=1):
        ev.field.add(name=name, number=number, type=proto.TYPE_DOUBLE, label=proto.LABEL_OPTIONAL)
    ev.field.add(
        name="checkpoint_path", number=6, type=proto.TYPE_STRING, label=proto.LABEL_OPTIONAL
    )
    mm = file.message_type.add(name="ModelMetrics")
    mm.field.add(
        name="evaluation_data",
        number=1,
        type=proto.TYPE_MESSAGE,
        type_name=".nbt.EvaluationData",
        label=proto.LABEL_REPEATED,
    )
    mm.field.add(
        name="trainable_parameters", number=2, type=proto.TYPE_INT32, label=proto.LABEL_OPTIONAL
    )
    mm.field.add(name="total_time", number=3, type=proto.TYPE_DOUBLE, label=proto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("nbt.ModelMetrics"))

    message = cls(trainable_parameters=-3, total_time=12.5)
    for k in range(3):
        e = message.evaluation_data.add()
        e.current_epoch, e.validation_accuracy, e.test_accuracy = 54.0 * k, 0.3 * k, 0.2 * k
        e.checkpoint_path = f"p{k}"
    ours = parse_model_metrics(message.SerializeToString())
    assert ours.trainable_parameters == -3 and ours.total_time == 12.5
    assert [
        (e.current_epoch, e.validation_accuracy, e.checkpoint_path) for e in ours.evaluation_data
    ] == [
        (0.0, 0.0, "p0"),
        (54.0, 0.3, "p1"),
        (108.0, 0.6, "p2"),
    ]
    theirs = cls.FromString(model_metrics([evaluation(108, 9.0, 1.0, 0.9, 0.8)], 77, 3.0))
    assert theirs.trainable_parameters == 77 and theirs.total_time == 3.0
    assert theirs.evaluation_data[0].test_accuracy == 0.8
    assert theirs.evaluation_data[0].checkpoint_path == "/ckpt/model.ckpt-108"


# --------------------------------------------------------------------------------------------
# Conversion


def test_hashes_of_the_fixture_cells() -> None:
    assert graph_hash(OFFICIAL.spec) == OFFICIAL_HASH
    assert SMALL.spec.n_vertices == 5 and PLAIN.spec.n_vertices == 2
    assert SPACE.key(SMALL.spec) != f"nb101:{SMALL.adjacency}"  # the key reorders its vertices


@pytest.mark.parametrize("epochs", EPOCHS)
def test_convert_means_params_and_keys(tmp_path: Path, epochs: int) -> None:
    src = write(tmp_path / "nasbench.tfrecord", all_records())
    dst = tmp_path / "out" / "nb101.csv"
    assert convert_nb101_tfrecord(src, dst, epochs=epochs) == 3
    rows = read_csv(dst)
    names = columns(epochs)
    assert list(rows[0]) == list(names)
    val_col, test_col, time_col = names[2:5]
    if epochs == 108:
        assert (val_col, test_col, time_col) == (
            "val_acc_cifar10_valid",
            "test_acc_cifar10",
            "train_time_cifar10_valid",
        )
    else:
        assert (val_col, test_col) == ("val_acc_4ep_cifar10_valid", "test_acc_4ep_cifar10")
    by_hash = {row["module_hash"]: row for row in rows}
    assert set(by_hash) == {graph_hash(c.spec) for c in CELLS}
    for i, cell in enumerate(CELLS):
        row = by_hash[graph_hash(cell.spec)]
        runs = [final_values(i, epochs, r) for r in range(REPEATS)]
        assert row["arch_str"] == SPACE.key(cell.spec)
        assert graph_hash(SPACE.parse(row["arch_str"])) == row["module_hash"]
        assert float(row[val_col]) == pytest.approx(100 * mean([v for v, _, _ in runs]))
        assert float(row[test_col]) == pytest.approx(100 * mean([t for _, t, _ in runs]))
        assert float(row[time_col]) == pytest.approx(mean([s for _, _, s in runs]))
        assert row["params"] == str(cell.params)
    assert by_hash[OFFICIAL_HASH]["params"] == "8555530"


def test_converted_table_loads_for_the_nb101_space(tmp_path: Path) -> None:
    dst = tmp_path / "nb101.csv"
    convert_nb101_tfrecord(write(tmp_path / "n.tfrecord", all_records()), dst)
    table = load_table(dst, SPACE)
    assert set(table.metrics) == set(columns()) - {"arch_str", "module_hash"}
    row = table.lookup(SPACE.key(PLAIN.spec))
    assert row["params"] == PLAIN.params
    assert row["val_acc_cifar10_valid"] == pytest.approx(100 * (0.80 + 0.02 + 0.001 + 0.05))


def test_many_sampled_cells_keep_hash_and_key_in_agreement(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    specs = {graph_hash(s): s for s in (SPACE.sample(rng) for _ in range(40))}
    cells = tuple(Cell(s.matrix, s.ops, 1000 + k) for k, s in enumerate(specs.values()))
    dst = tmp_path / "nb101.csv"
    assert convert_nb101_tfrecord(write(tmp_path / "n.tfrecord", all_records(cells)), dst) == len(
        cells
    )
    for row in read_csv(dst):
        assert SPACE.key(specs[row["module_hash"]]) == row["arch_str"]


def test_missing_epochs_are_named(tmp_path: Path) -> None:
    src = write(tmp_path / "n.tfrecord", all_records())
    with pytest.raises(BenchmarkError, match=r"no 12-epoch results .*\[4, 108\]"):
        convert_nb101_tfrecord(src, tmp_path / "x.csv", epochs=12)
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(InvalidParameterError, match="'epochs' parameter"):
        convert_nb101_tfrecord(src, tmp_path / "x.csv", epochs=0)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"not found.*naswot bench convert nb101"):
        convert_nb101_tfrecord(tmp_path / "missing.tfrecord", tmp_path / "x.csv")
    with pytest.raises(BenchmarkError, match="holds no records"):
        convert_nb101_tfrecord(write(tmp_path / "empty.tfrecord", []), tmp_path / "x.csv")


# --------------------------------------------------------------------------------------------
# Damaged files: clear errors naming the file and the record


def damaged(tmp_path: Path, change: int, at: int, value: bytes | None = None) -> Path:
    """The fixture file with the bytes at ``offsets[change] + at`` overwritten (or flipped)."""
    records = all_records()
    data = bytearray(b"".join(frame(r) for r in records))
    pos = offsets(records)[change] + at
    patch = value if value is not None else bytes([data[pos] ^ 0x20])
    data[pos : pos + len(patch)] = patch
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(data))
    return path


def convert_error(src: Path, tmp_path: Path) -> str:
    dst = tmp_path / "never.csv"
    with pytest.raises(BenchmarkError) as info:
        convert_nb101_tfrecord(src, dst)
    assert not dst.exists()
    message = str(info.value)
    assert str(src) in message
    return message


def test_corrupt_data_crc(tmp_path: Path) -> None:
    message = convert_error(damaged(tmp_path, 4, 12 + 3), tmp_path)  # a byte of record 5's data
    assert "corrupt" in message and "record 5's data" in message


def test_corrupt_length_crc(tmp_path: Path) -> None:
    message = convert_error(damaged(tmp_path, 2, 9), tmp_path)  # record 3's stored length CRC
    assert "record 3's length field" in message


@pytest.mark.parametrize("length", [1 << 40, None])
def test_corrupt_length(tmp_path: Path, length: int | None) -> None:
    records = all_records()
    value = struct.pack("<Q", length if length is not None else len(records[1]) + 1)
    message = convert_error(damaged(tmp_path, 1, 0, value), tmp_path)
    assert "record 2's length field" in message


def test_truncated_file(tmp_path: Path) -> None:
    records = all_records()
    data = b"".join(frame(r) for r in records)
    src = tmp_path / "cut.tfrecord"
    src.write_bytes(data[:-3])
    message = convert_error(src, tmp_path)
    assert "truncated" in message and f"record {len(records)} " in message
    src.write_bytes(data[: offsets(records)[-1] + 5])
    message = convert_error(src, tmp_path)
    assert "truncated" in message and "header" in message and f"record {len(records)} " in message


def test_non_json_record(tmp_path: Path) -> None:
    records = all_records()
    records.insert(6, b"\x00not json")
    message = convert_error(write(tmp_path / "n.tfrecord", records), tmp_path)
    assert "record 7 is not UTF-8 JSON" in message


GOOD = model_metrics([evaluation(108, 1.0, 1.0, 0.9, 0.9)], 5, 1.0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (json.dumps({"a": 1}).encode(), "not a NAS-Bench-101 record"),
        (json.dumps(["h", "108", "01", "input", ""]).encode(), "epochs field"),
        (record("h", 108, "0110", "input,output", b"")[:-2] + b"]", "not UTF-8 JSON"),
        (record("h", 108, "011", "input,output", GOOD), "not n*n characters"),
        (record("h", 108, "0100", "input,conv5x5,output", GOOD), "not a NAS-Bench-101 cell"),
        (json.dumps(["h", 108, "0100", "input,output", "@@"]).encode(), "not base64"),
        (record("h", 108, "0100", "input,output", b"\x0a\x05"), "ModelMetrics message"),
        (record("h", 108, "0100", "input,output", f64(3, 1.0)), "no evaluation_data"),
    ],
)
def test_malformed_records(tmp_path: Path, bad: bytes, message: str) -> None:
    records = all_records()
    records.insert(2, bad)
    assert message in convert_error(write(tmp_path / "n.tfrecord", records), tmp_path)


def test_wrong_hash(tmp_path: Path) -> None:
    records = all_records()
    records += cell_records(0, SMALL, 108, module_hash="0" * 32)
    message = convert_error(write(tmp_path / "n.tfrecord", records), tmp_path)
    assert f"record {len(records) - 2}" in message
    assert f"hashes to {graph_hash(SMALL.spec)}" in message


def test_records_of_one_hash_with_another_cell_are_checked(tmp_path: Path) -> None:
    records = all_records()
    # Same module_hash as SMALL, written in another vertex order (an isomorphic copy): accepted.
    order = (0, 2, 1, 3, 4)
    m = SMALL.matrix
    iso = Cell(
        tuple(tuple(m[a][b] for b in order) for a in order),
        tuple(SMALL.ops[v] for v in order),
        SMALL.params,
    )
    assert iso.adjacency != SMALL.adjacency
    records += cell_records(1, iso, 108, module_hash=graph_hash(SMALL.spec))
    dst = tmp_path / "nb101.csv"
    assert convert_nb101_tfrecord(write(tmp_path / "n.tfrecord", records), dst) == 3
    # A non-isomorphic cell under SMALL's hash: refused.
    records += cell_records(2, PLAIN, 108, module_hash=graph_hash(SMALL.spec))
    assert "hashes to" in convert_error(write(tmp_path / "n.tfrecord", records), tmp_path)


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_convert_and_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "nb101" in CONVERTERS
    rng = np.random.default_rng(5)
    specs = {graph_hash(s): s for s in (SPACE.sample(rng) for _ in range(12))}
    cells = tuple(Cell(s.matrix, s.ops, 10 * k) for k, s in enumerate(specs.values()))
    src = write(tmp_path / "nasbench_full.tfrecord", all_records(cells))
    dst = tmp_path / "nb101.csv"

    assert main(["bench", "convert", "nb101", str(src), str(dst), "--quiet"]) == 0
    assert f"wrote {len(cells)} cells (108 epochs)" in capsys.readouterr().err
    dst4 = tmp_path / "nb101-4.csv"
    assert main(["bench", "convert", "nb101", str(src), str(dst4), "--epochs", "4"]) == 0
    assert "val_acc_4ep_cifar10_valid" in read_csv(dst4)[0]
    capsys.readouterr()

    # Scores in the order of the test accuracy: a perfect ranking.
    scores = tmp_path / "scores.csv"
    with scores.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch", "proxy", "score", "status"])
        for row in read_csv(dst):
            writer.writerow([row["arch_str"], "naswot", row["test_acc_cifar10"], "ok"])
    argv = ["evaluate", "--space", "nb101", "--benchmark", str(dst), "--scores", str(scores)]
    argv += ["--column", "test_acc_cifar10", "--n-bootstrap", "20", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == len(cells)
    assert report["kendall_tau"]["value"] == pytest.approx(1.0)


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = damaged(tmp_path, 4, 12 + 3)
    assert main(["bench", "convert", "nb101", str(bad), str(tmp_path / "x.csv"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "record 5's data" in err and str(bad) in err and "Traceback" not in err
    args = ["bench", "convert", "nb201", str(tmp_path / "a.pth"), str(tmp_path / "x.csv")]
    assert main([*args, "--epochs", "4"]) == 1
    assert "--epochs applies to nb101 only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "convert", "nb101", str(bad), str(tmp_path / "x.csv"), "--epochs", "0"])
