"""Fig. 5: how feature vectors change as an image is translated, scaled and rotated.

For each amount of transformation we report, per chosen layer, the Euclidean
distance between the feature vector of the transformed image and that of the
original, divided by the norm of the original's vector (so that layers of
very different magnitudes share one axis: 0 = unchanged, 1 = a change as
large as the vector itself), and the probability of the true class.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize
from ..functional import log_softmax

KINDS = {"translate": "vertical translation (pixels)", "scale": "scale factor",
         "rotate": "rotation (degrees)"}


def transform(image, kind, amount, fill):
    """One uint8 image (3, H, W) translated vertically by ``amount`` pixels, scaled by a factor
    ``amount`` about its centre, or rotated by ``amount`` degrees; uncovered pixels get ``fill``."""
    from PIL import Image
    _, h, w = image.shape
    pil = Image.fromarray(image.transpose(1, 2, 0))
    fill = tuple(int(v) for v in fill)
    if kind == "translate":
        out = Image.new("RGB", (w, h), fill)
        out.paste(pil, (0, int(round(amount))))
    elif kind == "scale":
        size = max(1, int(round(w * amount))), max(1, int(round(h * amount)))
        scaled = pil.resize(size, Image.BICUBIC)
        out = Image.new("RGB", (w, h), fill)
        out.paste(scaled, ((w - size[0]) // 2, (h - size[1]) // 2))
    elif kind == "rotate":
        out = pil.rotate(amount, resample=Image.BILINEAR, fillcolor=fill)
    else:
        raise ValueError(f"unknown transformation {kind!r}: expected one of {sorted(KINDS)}")
    return np.asarray(out, dtype=np.uint8).transpose(2, 0, 1).copy()


@dataclass
class InvarianceResult:
    kind: str
    amounts: np.ndarray      # (A,)
    distances: dict          # layer -> (N, A) normalised distance to the untransformed features
    prob_true: np.ndarray    # (N, A) probability of the true class
    prob_clean: np.ndarray   # (N,) the same for the untransformed image

    @property
    def relative_prob(self):
        """(N, A) p(true class) as a share of the untransformed image's: 1 = unchanged."""
        return self.prob_true / np.maximum(self.prob_clean, 1e-12)[:, None]


def paper_layers(net):
    """The paper's "layer 1" and "layer 7" of a network, found from its structure (``minizf.roles``):
    norm1 and relu7 in the paper's nets, and their counterparts in models from elsewhere."""
    from ..roles import layer1, layer7
    return layer1(net), layer7(net)


def invariance(net, images, labels, mean, kind, amounts, layers=None, device=None):
    """Normalised feature distances and true-class probabilities for uint8 images (N, 3, H, W).

    labels: (N,) class indices in the model's order, or None to track the class the network
    gives each untransformed image; layers: the two layers compared (default ``paper_layers``:
    norm1 and relu7 in the paper's nets)."""
    device = device_of_net(net, device)
    layers = tuple(layers or paper_layers(net))
    fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)
    amounts = np.asarray(amounts, dtype=np.float64)
    distances = {layer: np.zeros((len(images), len(amounts))) for layer in layers}
    prob_true, prob_clean = np.zeros((len(images), len(amounts))), np.zeros(len(images))
    for n, image in enumerate(images):
        batch = np.stack([image] + [transform(image, kind, a, fill) for a in amounts])
        probs = np.exp(to_numpy(log_softmax(net.forward(to_device(normalize(batch, mean), device),
                                                        keep=True))))
        label = int(probs[0].argmax()) if labels is None else int(labels[n])
        prob_true[n], prob_clean[n] = probs[1:, label], probs[0, label]
        for layer in layers:
            f = to_numpy(net.activations[layer]).reshape(len(batch), -1).astype(np.float64)
            norm = np.linalg.norm(f[0])
            distances[layer][n] = np.linalg.norm(f[1:] - f[0], axis=1) / (norm if norm > 0 else 1.0)
    return InvarianceResult(kind, amounts, distances, prob_true, prob_clean)
