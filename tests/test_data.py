"""Datasets and preprocessing, on small data the tests build themselves."""
import hashlib
import io
import pickle
import shutil
import tarfile

import numpy as np
import pytest

from minizf import data
from minizf.data import (ArrayDataset, download_cifar10, load_cifar10, load_image_folder, mean_image,
                         normalize, random_crops, ten_crops)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def batch_bytes(images, labels):
    """One batch in the official format: rows of 1024 R, 1024 G, 1024 B values."""
    return pickle.dumps({b"data": images.reshape(len(images), -1), b"labels": list(map(int, labels)),
                         b"batch_label": b"test", b"filenames": [b"x.png"] * len(images)}, protocol=4)


def make_cifar(folder, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name in data.CIFAR_TRAIN + data.CIFAR_TEST:
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch)
        (folder / name).write_bytes(batch_bytes(images, labels))
        truth[name] = (images, labels)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CLASSES]}))
    return truth


def test_reads_the_official_format(tmp_path):
    truth = make_cifar(tmp_path / "cifar-10-batches-py")
    train = load_cifar10(tmp_path, "train")              # finds the sub-folder
    test = load_cifar10(tmp_path / "cifar-10-batches-py", "test")
    assert len(train) == 20 and len(test) == 4 and train.classes == CLASSES
    np.testing.assert_array_equal(train.images[4:8], truth["data_batch_2"][0])
    np.testing.assert_array_equal(test.labels, truth["test_batch"][1])
    assert train.images.dtype == np.uint8 and train.images.shape == (20, 3, 32, 32)
    # Channel planes: the first 1024 bytes of a row are the red plane.
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())[b"data"]
    np.testing.assert_array_equal(test.images[0, 0].ravel(), raw[0, :1024])


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="CIFAR-10 not found"):
        load_cifar10(tmp_path / "nowhere")
    folder = tmp_path / "c"
    make_cifar(folder)
    (folder / "data_batch_3").write_bytes((folder / "data_batch_3").read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_3: corrupt CIFAR-10 batch file"):
        load_cifar10(folder)
    (folder / "test_batch").write_bytes(batch_bytes(np.zeros((2, 3, 32, 32), np.uint8), [3, 12]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        load_cifar10(folder, "test")
    (folder / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="missing CIFAR-10 batch file"):
        load_cifar10(folder)


def tarball(tmp_path):
    make_cifar(tmp_path / "src" / "cifar-10-batches-py")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_download_checks_the_checksum_and_extracts_whole(tmp_path):
    archive, md5 = tarball(tmp_path)
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download_cifar10(root, url=archive.as_uri(), md5="0" * 32, progress=False)
    assert not (root / "cifar-10-batches-py").exists() and list(root.iterdir()) == []
    folder = download_cifar10(root, url=archive.as_uri(), md5=md5, progress=False)
    assert len(load_cifar10(folder, "train")) == 20


def test_image_folder(tmp_path):
    for cls, names in {"cats": ["chelsea"], "scenes": ["china", "coffee", "rocket"]}.items():
        (tmp_path / cls).mkdir()
        for n in names:
            shutil.copy(data.sample_path(n), tmp_path / cls / f"{n}.jpg")
    (tmp_path / "scenes" / "notes.txt").write_text("not an image")
    ds = load_image_folder(tmp_path, size=48)
    assert ds.classes == ["cats", "scenes"] and list(ds.labels) == [0, 1, 1, 1]
    assert ds.images.shape == (4, 3, 48, 48) and ds.images.dtype == np.uint8
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "missing")


def test_mean_and_normalize():
    images = np.stack([np.full((3, 4, 4), v, np.uint8) for v in (0, 255)])
    ds = ArrayDataset(images, [0, 1], ["a", "b"])
    mean = mean_image(ds)
    np.testing.assert_allclose(mean, 0.5)
    x = normalize(images, mean)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x[0], -0.5)
    np.testing.assert_allclose(x[1], 0.5)


def test_random_crops_are_crops_and_repeat_under_a_seed():
    images = np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8) + 1
    a = random_crops(images, 8, 2, np.random.default_rng(5))
    b = random_crops(images, 8, 2, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 3, 8, 8)
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for n in range(2):   # each output is some 8x8 window of the padded image, maybe mirrored
        found = [(t, l, f) for t in range(5) for l in range(5) for f in (False, True)
                 if np.array_equal(a[n], padded[n, :, t:t + 8, l:l + 8][..., ::-1] if f else
                                   padded[n, :, t:t + 8, l:l + 8])]
        assert found


def test_ten_crop_geometry():
    images = np.arange(1 * 1 * 5 * 6, dtype=np.float32).reshape(1, 1, 5, 6)
    crops = ten_crops(images, 3)
    assert crops.shape == (10, 1, 1, 3, 3)
    np.testing.assert_array_equal(crops[0, 0, 0], images[0, 0, :3, :3])      # top left
    np.testing.assert_array_equal(crops[1, 0, 0], images[0, 0, :3, 3:])      # top right
    np.testing.assert_array_equal(crops[2, 0, 0], images[0, 0, 2:, :3])      # bottom left
    np.testing.assert_array_equal(crops[3, 0, 0], images[0, 0, 2:, 3:])      # bottom right
    np.testing.assert_array_equal(crops[4, 0, 0], images[0, 0, 1:4, 1:4])    # centre
    for k in range(5):
        np.testing.assert_array_equal(crops[5 + k], crops[k][..., ::-1])     # mirrors
    with pytest.raises(ValueError, match="larger than"):
        ten_crops(images, 6)


def test_uint8_dataset_checks():
    with pytest.raises(ValueError, match="uint8 images"):
        ArrayDataset(np.zeros((2, 3, 4, 4)), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="expected 2 labels"):
        ArrayDataset(np.zeros((2, 3, 4, 4), np.uint8), [0], ["a", "b"])


class _Payload:
    """Pickles as a call of os.system: what a hostile batches.meta would hold."""
    def __reduce__(self):
        import os
        return (os.system, ("touch HACKED",))


def test_a_batch_that_names_code_is_refused_not_run(tmp_path, monkeypatch):
    make_cifar(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(
        pickle.dumps({b"label_names": [b"x"] * 10, b"payload": _Payload()}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="batches.meta: corrupt CIFAR-10 batch file.*posix.system"):
        load_cifar10(tmp_path, "test")
    assert not (tmp_path / "HACKED").exists()


def test_arrays_pickled_by_numpy_load_through_the_restricted_reader(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    folder = tmp_path / "cifar-10-batches-py"
    make_cifar(folder)
    for protocol in (2, 4, 5):
        (folder / "test_batch").write_bytes(pickle.dumps({b"data": images.reshape(3, -1), b"labels": [1, 2, 3]},
                                                         protocol=protocol))
        np.testing.assert_array_equal(load_cifar10(tmp_path, "test").images, images)


def test_a_16_bit_grey_png_keeps_its_tones(tmp_path):
    from PIL import Image
    ramp = np.linspace(0, 65535, 64).astype(np.uint16)[None].repeat(8, axis=0)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    x = data.load_image(tmp_path / "grey16.png")
    assert x.shape == (3, 8, 64)
    np.testing.assert_allclose(x[0, 0], ramp[0] / 65535, atol=1 / 255)      # not clipped to white
    np.testing.assert_array_equal(x[0], x[2])


@pytest.mark.parametrize("make", ["empty", "text", "folder", "truncated"])
def test_unreadable_images_are_one_clear_error(tmp_path, make):
    from PIL import Image
    path = tmp_path / "broken.jpg"
    if make == "empty":
        path.write_bytes(b"")
    elif make == "text":
        path.write_text("not an image")
    elif make == "folder":
        path.mkdir()
    else:
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="broken.jpg: not a"):
        data.load_image(path)


def test_a_sample_is_drawn_across_the_classes_not_the_first_few():
    from minizf.data import bundled_photos, sample
    photos = bundled_photos()                               # sorted by class, as folders are read
    assert len(set(photos.labels[:100].tolist())) <= 3       # the first 100 are two or three classes
    drawn = sample(photos, 100, seed=0)
    counts = np.bincount(drawn.labels, minlength=len(photos.classes))
    assert len(drawn) == 100 and counts.min() == counts.max() == 10
    positions = [photos.files.index(f) for f in drawn.files]
    assert positions == sorted(positions)                                   # in the folder's order
    for k, f in enumerate(drawn.files[:5]):                 # each file keeps its own image and label
        i = photos.files.index(f)
        assert drawn.labels[k] == photos.labels[i] and (drawn.images[k] == photos.images[i]).all()
    assert sample(photos, 100, seed=0).files == drawn.files and sample(photos, 100, seed=1).files != drawn.files
    assert sample(photos, 10_000) is photos and "100 of 508 images, drawn across its 10 classes (seed 0)" == drawn.drawn
