"""Solutions to the exercises of lesson 9."""
import numpy as np


def occluded_copies(image, size, stride, fill):
    _, h, w = image.shape
    rows, cols = np.arange(0, h - size + 1, stride), np.arange(0, w - size + 1, stride)
    batch = np.repeat(image[None], len(rows) * len(cols), axis=0)
    for k, (r, c) in enumerate((r, c) for r in rows for c in cols):
        batch[k, :, r:r + size, c:c + size] = np.asarray(fill, dtype=image.dtype)[:, None, None]
    return batch, rows, cols


def fall_where_map_falls(activation, prob, prob_clean):
    return float(prob.ravel()[np.argmin(activation.ravel())] / prob_clean)
