import copy
import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot.exceptions import NaswotError
from naswot.export import build
from naswot.training import LOG, Augment, ImageData, TrainConfig, Trainer, load_image_data

SMALL = "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
GOOD = "|nor_conv_1x1~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"


def cifar_dir(shared_data: Path) -> Path:
    root = shared_data / "cifar10-jpeg-yoongikim"
    if not (root / "cifar-10-batches-py").is_dir():
        pytest.skip(f"{root}/cifar-10-batches-py not found")
    return root


def synthetic(n_train: int = 32, n_test: int = 8) -> ImageData:
    rng = np.random.default_rng(0)
    return ImageData(
        dataset="cifar10",
        train_images=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        train_labels=rng.integers(0, 10, n_train).astype(np.int64),
        test_images=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        test_labels=rng.integers(0, 10, n_test).astype(np.int64),
        source="synthetic",
    )


def test_augment_pads_crops_and_flips_reproducibly() -> None:
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    a, b = Augment(5, padding=1), Augment(5, padding=1)
    state = a.state()
    first = a(images)
    assert first.shape == images.shape and np.array_equal(first, b(images))
    a.set_state(state)
    assert np.array_equal(a(images), first)
    assert np.array_equal(Augment(0, padding=0, flip=False)(images), images)


def test_limit_takes_the_first_training_images_and_the_whole_test_split(
    shared_data: Path,
) -> None:
    root = cifar_dir(shared_data)
    data = load_image_data("cifar10", root, limit=10)
    full = load_image_data("cifar10", root)
    assert np.array_equal(data.train_images, full.train_images[:10])
    assert len(data.test_labels) == len(full.test_labels) == 1000
    assert "first 10 of 1000 training images" in data.source


def test_twenty_steps_lower_the_loss_on_a_fixed_batch(shared_data: Path, tmp_path: Path) -> None:
    data = load_image_data("cifar10", cifar_dir(shared_data), limit=256)
    data = dataclasses.replace(
        data, test_images=data.test_images[:50], test_labels=data.test_labels[:50]
    )
    x = data.inputs(data.train_images[:64])
    y = torch.from_numpy(data.train_labels[:64])

    def loss(model: torch.nn.Module) -> float:
        probe = copy.deepcopy(model).train()  # batch statistics; running stats untouched
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(probe(x), y))

    model = build("nb201", SMALL, n_classes=10)
    before = loss(model)
    trainer = Trainer(model, data, TrainConfig(epochs=5, batch_size=64, seed=1), tmp_path)
    log = trainer.run()
    assert trainer.step == 20 and len(log) == 5
    assert loss(model) < before - 0.05
    rows = list(csv.DictReader((tmp_path / LOG).open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]


def test_resume_continues_bit_identically(tmp_path: Path) -> None:
    data = synthetic()
    config = TrainConfig(epochs=2, batch_size=16, seed=3)
    straight = build("nb201", SMALL, n_classes=10)
    Trainer(straight, data, config, tmp_path / "a").run()

    first = build("nb201", SMALL, n_classes=10)
    Trainer(first, data, config, tmp_path / "b").run(stop_after=1)
    resumed_model = build("nb201", SMALL, n_classes=10, seed=99)  # weights come from the file
    resumed = Trainer(resumed_model, data, config, tmp_path / "b")
    resumed.resume()
    assert resumed.epoch == 1
    resumed.run()
    for a, b in zip(
        straight.state_dict().values(), resumed_model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert (tmp_path / "a" / LOG).read_text().count("\n") == 3
    other = Trainer(
        build("nb201", SMALL), data, dataclasses.replace(config, lr=0.05), tmp_path / "b"
    )
    with pytest.raises(NaswotError, match="another recipe"):
        other.resume()
    with pytest.raises(NaswotError, match="no checkpoint"):
        Trainer(build("nb201", SMALL), data, config, tmp_path / "c").resume()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_epochs_on_1000_images_reach_25_percent(shared_data: Path, tmp_path: Path) -> None:
    data = load_image_data("cifar10", cifar_dir(shared_data))
    model = build("nb201", GOOD, n_classes=10)
    log = Trainer(model, data, TrainConfig(epochs=10, batch_size=64), tmp_path).run()
    assert log[-1].test_acc >= 25.0, [r.test_acc for r in log]
