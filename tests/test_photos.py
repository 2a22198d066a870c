"""64 px photos: the zf64 pair, image folders, centre crops, evaluation with --images and ensembles."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minizf import data, models
from minizf.data import ASSETS, ArrayDataset, centre_crop, normalize
from minizf.train import TrainConfig, Trainer, ensemble, predict, score

TINY = {"widths": (4, 6, 6, 6, 4), "fc_width": 8, "num_classes": 3}


def test_zf64_and_its_twin_as_the_paper_scaled_to_64_px():
    zf = dict(models.build("zf64").output_shapes((3, 64, 64)))
    twin = dict(models.build("krizhevsky64").output_shapes((3, 64, 64)))
    # conv1 7x7/2 pad 3: (64 + 6 - 7) // 2 + 1 = 32; 3x3/2 ceil pooling: 32 -> 16, 16 -> 8, 8 -> 4
    assert zf["conv1"] == (64, 32, 32) and zf["pool1"] == (64, 16, 16) and zf["conv3"] == (192, 8, 8)
    assert zf["pool5"] == (128, 4, 4)
    # conv1 11x11/4 pad 5: (64 + 10 - 11) // 4 + 1 = 16; conv2 5x5/1 pad 2 keeps 8
    assert twin["conv1"] == (64, 16, 16) and twin["conv2"] == (128, 8, 8) and twin["pool5"] == (128, 2, 2)
    assert models.build("zf64")["conv1"].params["W"].shape == (64, 3, 7, 7)
    assert models.build("krizhevsky64")["conv1"].params["W"].shape == (64, 3, 11, 11)


def test_centre_crop_and_a_larger_mean():
    a = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6)
    np.testing.assert_array_equal(centre_crop(a, (4, 4)), a[..., 1:5, 1:5])
    images = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 4), dtype=np.uint8)
    mean = np.random.default_rng(1).random((3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(normalize(images, mean), images / np.float32(255) - mean[:, 1:5, 1:5], atol=1e-6)
    with pytest.raises(ValueError, match="mean image of size 6x6 is smaller than the images, 8x8"):
        normalize(np.zeros((1, 3, 8, 8), np.uint8), mean)


def photo_folder(root, n=6, size=(80, 72), seed=0):
    """Three classes of coloured noise in Caltech/Imagenette layout."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(["blue", "green", "red"]):
        (root / name).mkdir(parents=True)
        for i in range(n):
            pixels = (rng.random((size[1], size[0], 3)) * 80).astype(np.uint8)
            pixels[..., 2 - c] += 150
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_training_on_72_px_photos_crops_64(tmp_path):
    folder = photo_folder(tmp_path / "photos")
    train = data.load_image_folder(folder, size=72)
    assert train.images.shape == (18, 3, 72, 72) and train.files[0] == "blue/0.png"
    config = TrainConfig(epochs=1, batch_size=6, crop_pad=0, snapshots=(1,))
    t = Trainer(models.build("zf64", **TINY), "zf64", train, train, config, tmp_path / "run", TINY,
                progress=False, log=lambda *_: None)
    t.run()
    assert t.mean.shape == (3, 72, 72)
    probs = predict(t.net, train.images, t.mean)                       # centre crops of 64
    direct = t.net.forward(normalize(centre_crop(train.images, (64, 64)), t.mean))
    np.testing.assert_allclose(np.log(probs), direct - np.log(np.exp(direct).sum(1, keepdims=True)),
                               rtol=1e-4, atol=1e-5)
    assert predict(t.net, train.images, t.mean, ten_crop=True, crop_pad=0).shape == (18, 3)


def test_score_and_ensemble_against_direct_computations():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 1, 2, 2, 2])
    a, b = rng.dirichlet(np.ones(3), 6), rng.dirichlet(np.ones(3), 6)
    np.testing.assert_allclose(ensemble([a, b]), (a + b) / 2)
    r = score(a, labels)
    hits = a.argmax(1) == labels
    assert r["top1"] == hits.mean()
    np.testing.assert_allclose(r["per_class"], [hits[:2].mean(), hits[2:3].mean(), hits[3:].mean()])
    assert r["loss"] == pytest.approx(-np.mean(np.log(a[np.arange(6), labels])))
    with pytest.raises(ValueError, match="ensemble"):
        ensemble([a, b[:3]])


def test_evaluate_command_on_an_image_folder_with_an_ensemble(tmp_path):
    folder = photo_folder(tmp_path / "photos")
    train = data.load_image_folder(folder, size=72)
    paths = []
    for seed in (0, 1):
        config = TrainConfig(epochs=2, batch_size=6, crop_pad=0, snapshots=(), seed=seed, lr=0.05)
        Trainer(models.build("zf64", **TINY), "zf64", train, None, config, tmp_path / f"r{seed}", TINY,
                progress=False, log=lambda *_: None).run()
        paths.append(str(tmp_path / f"r{seed}" / "model.npz"))
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "evaluate", *paths, "--images", str(folder),
                           "--json", str(tmp_path / "ev.json"), "--out", str(tmp_path / "ev")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = json.loads((tmp_path / "ev.json").read_text())
    assert [m["file"] for m in table["models"]] == ["model.npz", "model.npz", "ensemble"]
    assert table["images"] == 18 and table["classes"] == ["blue", "green", "red"]
    assert "per-class accuracy: blue" in done.stdout and (tmp_path / "ev" / "confusion.png").exists()
    # the ensemble's row is the accuracy of the averaged probabilities, computed here by hand
    from minizf.train import load_model
    total = 0
    for path in paths:
        net, mean, _ = load_model(path)
        x = normalize(centre_crop(train.images, (64, 64)), mean)
        scores = net.forward(x).astype(np.float64)
        total = total + np.exp(scores - scores.max(1, keepdims=True)) / np.exp(
            scores - scores.max(1, keepdims=True)).sum(1, keepdims=True)
    assert table["models"][2]["top1"] == pytest.approx(((total / 2).argmax(1) == train.labels).mean())


def test_evaluate_refuses_a_folder_of_other_classes(tmp_path):
    folder = photo_folder(tmp_path / "photos", n=2)
    other = ArrayDataset(np.zeros((3, 3, 72, 72), np.uint8), [0, 1, 2], ["cat", "dog", "emu"])
    config = TrainConfig(epochs=1, batch_size=3, crop_pad=0, snapshots=())
    Trainer(models.build("zf64", **TINY), "zf64", other, None, config, tmp_path / "r", TINY, progress=False,
            log=lambda *_: None).run()
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "evaluate", str(tmp_path / "r" / "model.npz"),
                           "--images", str(folder), "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "the images hold others: ['blue', 'green', 'red']" in done.stderr


def test_the_springer_faces_are_in_the_bundled_sample_and_their_boxes_inside():
    spec = json.loads((ASSETS / "correspondence_springers.json").read_text())
    folder = ASSETS / data.PHOTO_SAMPLE / spec["class"]
    assert all((folder / name).exists() for name in spec["files"])
    for boxes in spec["parts"].values():
        assert len(boxes) == len(spec["files"])
        for top, left, h, w in boxes:
            assert 0 <= top and 0 <= left and top + h <= 64 and left + w <= 64


def test_bundled_photos_are_centre_crops_with_their_files():
    photos = data.bundled_photos()
    assert photos.images.shape[1:] == (3, 64, 64) and len(photos) == len(photos.files) >= 500
    assert np.bincount(photos.labels).min() >= 50
    name = photos.files[7]
    full = np.round(data.load_image(ASSETS / data.PHOTO_SAMPLE / name, 72) * 255).astype(np.uint8)
    np.testing.assert_array_equal(photos.images[7], full[:, 4:68, 4:68])
