"""Images and datasets.

For now: the bundled sample photos and a loader that turns an image file into
the float32 (3, H, W) array the networks take.
"""
import os
from pathlib import Path

import numpy as np

#: The repository's ``data/`` folder with the bundled small assets.
ASSETS = Path(os.environ.get("MINIZF_ASSETS", Path(__file__).resolve().parent.parent / "data"))


def sample_path(name):
    """Path of a bundled sample photo, e.g. ``sample_path("chelsea")``."""
    path = ASSETS / "samples" / f"{name}.jpg"
    if not path.exists():
        names = sorted(p.stem for p in (ASSETS / "samples").glob("*.jpg"))
        raise ValueError(f"no sample photo {name!r} in {ASSETS / 'samples'}; there are {names}")
    return path


def load_image(path, size=None):
    """An image file -> float32 array (3, H, W) with values in [0, 1].

    size: resize the shorter side to ``size`` and take the centre square
    (the paper's preprocessing of ImageNet, Sec. 3).
    """
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None:
            scale = size / min(im.size)
            w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
            im = im.resize((w, h), Image.BICUBIC)
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
        return (np.asarray(im, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy()
