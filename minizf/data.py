"""Images and datasets.

For now: the bundled sample photos and a loader that turns an image file into
the float32 (3, H, W) array the networks take.
"""
import os
from pathlib import Path

import numpy as np

from .modelfile import load_model


def _assets():
    """$MINIZF_ASSETS, else the repository's ``data/`` (a checkout or an editable install), else the
    copy a non-editable install keeps as package data (``minizf/assets``)."""
    if os.environ.get("MINIZF_ASSETS"):
        return Path(os.environ["MINIZF_ASSETS"])
    repository = Path(__file__).resolve().parent.parent / "data"
    if (repository / "README.md").is_file() and (repository / "samples").is_dir():
        return repository
    return Path(__file__).resolve().parent / "assets"


#: The folder with the bundled small assets (trained models, sample images).
ASSETS = _assets()


def sample_path(name):
    """Path of a bundled sample photo, e.g. ``sample_path("chelsea")``."""
    path = ASSETS / "samples" / f"{name}.jpg"
    if not path.exists():
        names = sorted(p.stem for p in (ASSETS / "samples").glob("*.jpg"))
        raise ValueError(f"no sample photo {name!r} in {ASSETS / 'samples'}; there are {names}")
    return path


def bundled_model(name="zf_small"):
    """(net, mean image, meta) of a model shipped in data/, e.g. "zf_small" or "krizhevsky_small"."""
    path = ASSETS / f"{name}.npz"
    if not path.exists():
        raise ValueError(f"no bundled model {path}; train one with `minizf train` and export it")
    return load_model(path)


def load_imagenette(root=None, split="train", crop=None):
    """Imagenette (10 ImageNet classes) from root/imagenette/{train,val}: uint8 (N, 3, 72, 72), or
    the centre crop x crop of each photo."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    root = data_root(root)
    folder = root / "imagenette" / split if (root / "imagenette").is_dir() else root / split
    if not folder.is_dir():
        raise ValueError(f"Imagenette not found: no folder {folder} (pass --data PATH or set MINIZF_DATA)")
    return load_image_folder(folder, size=72, name=f"Imagenette {split}", crop=crop)


PHOTO_SAMPLE = "imagenette_sample"


def bundled_photos(size=64):
    """The Imagenette val photos shipped in data/imagenette_sample (50 per class and the
    figures' picks): uint8 (N, 3, size, size), the centre of each 72 px photo, with ``.files``."""
    return load_image_folder(ASSETS / PHOTO_SAMPLE, size=72, name="Imagenette val sample", crop=size)


def bundled_images():
    """The CIFAR-10 test images shipped in data/cifar10_sample.npz, with their test-set indices."""
    with np.load(ASSETS / "cifar10_sample.npz") as f:
        ds = ArrayDataset(f["images"], f["labels"], [str(c) for c in f["classes"]], "CIFAR-10 test sample")
        ds.indices = f["indices"]
    return ds


def load_image(path, size=None):
    """An image file -> float32 array (3, H, W) with values in [0, 1].

    size: resize the shorter side to ``size`` and take the centre square
    (the paper's preprocessing of ImageNet, Sec. 3).
    """
    from PIL import Image
    if not Path(path).is_file():       # a folder, a FIFO (which would hang the reader), a missing file
        raise ValueError(f"{path}: not a regular image file")
    try:
        with Image.open(path) as im:
            return _image_array(im, size)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"{path}: not a readable image ({type(err).__name__}: {err})") from None


def _image_array(im, size):
    """A PIL image -> float32 (3, H, W) in [0, 1], resized and centre-cropped as ``load_image``."""
    from PIL import Image
    if im.mode.startswith("I"):
        # 16-bit (or 32-bit integer) grey: Pillow's convert("RGB") clips at 255, which turns
        # a 16-bit photo almost white; scale the full range down instead.
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        im = Image.fromarray(np.round(a / top * 255).clip(0, 255).astype(np.uint8))
    if max(im.size) > MAX_ASPECT * min(im.size):          # checked on the header, before decoding
        raise ValueError(f"a {im.width}x{im.height} image: sides more than {MAX_ASPECT} times apart")
    im = im.convert("RGB")          # palette, grey, CMYK, RGBA: all to 3 channels
    if size is not None:
        scale = size / min(im.size)
        w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
        im = im.resize((w, h), Image.BICUBIC)
        left, top = (w - size) // 2, (h - size) // 2
        im = im.crop((left, top, left + size, top + size))
    return (np.asarray(im, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy()


# ----------------------------------------------------------------------------
# Datasets: uint8 images (N, 3, H, W) and int64 labels, kept as uint8 until a
# batch is made (CIFAR-10's 50,000 training images take 150 MB).
# ----------------------------------------------------------------------------
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]


class ArrayDataset:
    """Images (N, 3, H, W) uint8, labels (N,) int64, class names; ``ds[i]`` is (image, label)."""

    def __init__(self, images, labels, classes, name="dataset"):
        images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
        if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{name}: expected uint8 images of shape (N, 3, H, W), "
                             f"got {images.dtype} {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"{name}: expected {len(images)} labels, got shape {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(f"{name}: labels must lie in [0, {len(classes)}), got "
                             f"[{labels.min()}, {labels.max()}]")
        self.images, self.labels, self.classes, self.name = images, labels, list(classes), name

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def subset(self, indices, name=None):
        """A dataset of the given indices (e.g. the first 500 images)."""
        indices = np.asarray(indices)
        return ArrayDataset(self.images[indices], self.labels[indices], self.classes,
                            name or f"{self.name}[subset of {len(indices)}]")


def sample(dataset, count, seed=0):
    """``count`` images drawn across the classes, in the dataset's own order: the classes take turns
    (each class's images in an order drawn from ``seed``), so a folder sorted by class does not give
    its first few classes only. The dataset itself when ``count`` covers it; ``.files`` kept."""
    if count >= len(dataset):
        return dataset
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(np.flatnonzero(dataset.labels == c))) for c in np.unique(dataset.labels)]
    picked = []
    while len(picked) < count:
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop())
    indices = np.sort(picked)
    drawn = dataset.subset(indices, name=dataset.name)
    drawn.drawn = (f"{count} of {len(dataset)} images, drawn across its {len(queues)} classes "
                   f"(seed {seed})")
    if hasattr(dataset, "files"):
        drawn.files = [dataset.files[i] for i in indices]
    return drawn


def data_root(path=None):
    """Where datasets live: ``path``, else ``$MINIZF_DATA``, else ../shared/data beside the repo."""
    if path is not None:
        return Path(path)
    if os.environ.get("MINIZF_DATA"):
        return Path(os.environ["MINIZF_DATA"])
    return ASSETS.parent.parent / "shared" / "data"


def find_cifar10(root=None):
    """The folder holding CIFAR-10's batch files: root itself or root/cifar-10-batches-py."""
    root = data_root(root)
    for folder in (root, root / CIFAR_FOLDER):
        if (folder / "batches.meta").exists():
            return folder
    raise ValueError(f"CIFAR-10 not found in {root} (nor in {root / CIFAR_FOLDER}): expected the "
                     "official python-version files data_batch_1..5, test_batch, batches.meta; "
                     "pass --data PATH, set MINIZF_DATA, or use minizf.data.download_cifar10(PATH)")


#: What a CIFAR-10 batch may name besides builtin containers: NumPy's array reconstruction.
#: Anything else in a pickle (a function to call, a class to build) is refused, so a data
#: folder somebody hands you cannot run code when it is loaded.
_CIFAR_PICKLE_NAMES = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                       for name in ("_reconstruct", "scalar")} | {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode")}


def _read_pickle(path):
    import pickle

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in _CIFAR_PICKLE_NAMES:
                raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never "
                                             "does; refused (loading it could run code)")
            return super().find_class(module, name)

    try:
        with open(path, "rb") as f:
            return Restricted(f, encoding="bytes").load()
    except FileNotFoundError:
        raise ValueError(f"{path}: missing CIFAR-10 batch file") from None
    except Exception as err:  # truncated, not a pickle at all, or a pickle that names code
        raise ValueError(f"{path}: corrupt CIFAR-10 batch file ({type(err).__name__}: {err})") from None


def _read_cifar_batch(path):
    batch = _read_pickle(path)
    try:
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"])
    except (KeyError, TypeError):
        raise ValueError(f"{path}: not a CIFAR-10 batch (no b'data' / b'labels')") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"{path}: expected data (N, 3072) and N labels, got data {data.shape} "
                         f"and {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(root=None, split="train"):
    """CIFAR-10 from its official python-version files: split "train" (50,000) or "test" (10,000)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = find_cifar10(root)
    meta = _read_pickle(folder / "batches.meta")
    classes = [c.decode() for c in meta[b"label_names"]]
    parts = [_read_cifar_batch(folder / name) for name in (CIFAR_TRAIN if split == "train" else CIFAR_TEST)]
    return ArrayDataset(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                        classes, name=f"CIFAR-10 {split}")


# ----------------------------------------------------------------------------
# Preprocessing as Sec. 3: per-pixel mean subtraction, random crops and flips
# for training, ten crops (4 corners + centre, each also flipped) for testing.
# ----------------------------------------------------------------------------
def mean_image(dataset, batch=5000):
    """Per-pixel mean of a dataset's images, in [0, 1]: (3, H, W) float32."""
    total = np.zeros(dataset.images.shape[1:], dtype=np.float64)
    for start in range(0, len(dataset), batch):
        total += dataset.images[start:start + batch].sum(axis=0, dtype=np.float64)
    return (total / (255.0 * len(dataset))).astype(np.float32)


def normalize(images, mean):
    """uint8 images (N, 3, H, W) -> float32 in [0, 1] minus the mean image (3, H', W').

    The mean is the per-pixel mean of the training images; when those were
    larger than these images (Imagenette's 72 px photos for a 64 px model), its
    centre is used, as for a centre crop. A mean smaller than the images is an error.
    """
    return images.astype(np.float32) * np.float32(1 / 255.0) - centre_crop(mean, images.shape[-2:], "mean image")


def centre_crop(array, size, what="image"):
    """The centre (H, W) = size of an array (..., H', W') with H' >= H, W' >= W."""
    (h, w), (H, W) = size, array.shape[-2:]
    if H < h or W < w:
        raise ValueError(f"{what} of size {H}x{W} is smaller than the images, {h}x{w}")
    top, left = (H - h) // 2, (W - w) // 2
    return array[..., top:top + h, left:left + w]


def random_crops(images, size, pad, rng, flip=True):
    """Training augmentation: pad by ``pad`` (zeros, i.e. the mean after normalizing), cut a
    random size x size crop per image and flip half of them: (N, C, H, W) -> (N, C, size, size)."""
    n, c, h, w = images.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=images.dtype)
    padded[:, :, pad:pad + h, pad:pad + w] = images
    tops = rng.integers(0, h + 2 * pad - size + 1, n)
    lefts = rng.integers(0, w + 2 * pad - size + 1, n)
    rows = tops[:, None] + np.arange(size)                      # (N, size)
    cols = lefts[:, None] + np.arange(size)
    out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                 rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        flipped = rng.random(n) < 0.5
        out[flipped] = out[flipped, :, :, ::-1]
    return out


def ten_crops(images, size, pad=0):
    """Test-time crops: 4 corners and the centre of the (padded) image, each also mirrored.

    (N, C, H, W) -> (10, N, C, size, size); crops 0-4 are TL, TR, BL, BR, centre,
    5-9 their horizontal mirrors.
    """
    n, c, h, w = images.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=images.dtype)
    padded[:, :, pad:pad + h, pad:pad + w] = images
    H, W = h + 2 * pad, w + 2 * pad
    if size > min(H, W):
        raise ValueError(f"ten_crops: crop {size} is larger than the (padded) image {H}x{W}")
    corners = [(0, 0), (0, W - size), (H - size, 0), (H - size, W - size),
               ((H - size) // 2, (W - size) // 2)]
    crops = [padded[:, :, t:t + size, l:l + size] for t, l in corners]
    return np.stack(crops + [crop[:, :, :, ::-1] for crop in crops])


# ----------------------------------------------------------------------------
# Downloading CIFAR-10 (for users with internet) and image folders
# ----------------------------------------------------------------------------
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"


def download_cifar10(root=None, url=CIFAR_URL, md5=CIFAR_MD5, progress=True):
    """Fetch CIFAR-10's python version into root/cifar-10-batches-py; returns that folder.

    The archive's MD5 is checked before anything is extracted, and the folder
    appears only complete (extracted to a temporary folder, then renamed).
    """
    import hashlib
    import shutil
    import tarfile
    import tempfile
    import urllib.request

    root = data_root(root)
    target = root / CIFAR_FOLDER
    if (target / "batches.meta").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        archive = Path(tmp) / "cifar-10-python.tar.gz"
        digest = hashlib.md5()
        with urllib.request.urlopen(url) as response, open(archive, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0)
            from tqdm import tqdm
            with tqdm(total=total or None, unit="B", unit_scale=True, disable=not progress,
                      desc="CIFAR-10") as bar:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != md5:
            raise ValueError(f"{url}: checksum mismatch (MD5 {digest.hexdigest()}, expected {md5}); "
                             "nothing was extracted")
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(CIFAR_FOLDER + "/") and m.isfile()]
            names = {Path(m.name).name for m in members}
            missing = set(CIFAR_TRAIN + CIFAR_TEST + ["batches.meta"]) - names
            if missing:
                raise ValueError(f"{url}: archive lacks {sorted(missing)}")
            tar.extractall(tmp, members=members, filter="data")
        shutil.move(str(Path(tmp) / CIFAR_FOLDER), str(target))
    return target


def balanced_first(dataset, n):
    """Indices of n images taking each class in turn (its first image, then its second, ...)."""
    per_class = [np.flatnonzero(dataset.labels == c) for c in range(len(dataset.classes))]
    order = [idx[k] for k in range(max((len(i) for i in per_class), default=0)) for idx in per_class
             if k < len(idx)]
    return sorted(order[:n])


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".gif", ".tif", ".tiff", ".webp")
#: The widest ratio of an image's sides minizf resizes: a 200000 x 1 image would become a
#: 14-million-pixel-wide one at 72 px (gigabytes for one file).
MAX_ASPECT = 16


def load_image_folder(root, size=64, name=None, classes=None, per_class=None, crop=None):
    """One sub-folder per class (Caltech-101, Imagenette layout) -> ArrayDataset of uint8 (N, 3, size, size).

    Each image's shorter side is resized to ``size`` and the centre square
    kept; the result is cached as uint8 in memory. crop: then keep the
    centre crop x crop (a 64 px model trained on crops of 72 px photos sees
    Caltech as ``size=72, crop=64``). classes: only these sub-folders
    (default all); per_class: only the first N images of each.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {root} does not exist")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not found:
        raise ValueError(f"{root}: expected one sub-folder per class, found none")
    if classes is not None:
        missing = sorted(set(classes) - set(found))
        if missing:
            raise ValueError(f"{root}: no class folders {missing}")
        found = sorted(classes)
    classes = found
    images, labels, files = [], [], []
    # Images anywhere below a class folder belong to it (sub-folders too), in a fixed order.
    members = {cls: sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS
                           and not p.is_dir()) for cls in classes}
    empty = [cls for cls, paths in members.items() if not paths]
    if empty:
        raise ValueError(f"{root}: class folders without images {empty}; remove them (an empty class "
                         "would still count as a class and change the scores)")
    for label, cls in enumerate(classes):
        for path in members[cls][:per_class]:
            images.append(np.round(load_image(path, size) * 255).astype(np.uint8))
            labels.append(label)
            files.append(path.relative_to(root).as_posix())
    if not images:
        raise ValueError(f"{root}: no images with extensions {IMAGE_EXTENSIONS}")
    images = np.stack(images)
    if crop is not None and crop != size:
        images = np.ascontiguousarray(centre_crop(images, (crop, crop)))
    dataset = ArrayDataset(images, np.array(labels), classes, name or root.name)
    dataset.files = files       # "class/file.jpg" of each image
    return dataset
