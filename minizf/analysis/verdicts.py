"""Does the paper's claim hold here? One computed verdict per figure of Sec. 4.

Each function takes the numbers an experiment measured and returns a
``Verdict``: the paper's claim, our numbers, whether the claim holds (computed
from the numbers, never written in by hand) and, when it does not, the most
likely reason at our scale. The tour prints them under each figure, the
commands after their output. Tests build a case where each claim holds and one
where it fails and check that the verdict flips.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Verdict:
    """A claim of the paper against our measurement."""
    figure: str            # "Fig. 5"
    claim: str             # what the paper says
    measured: str          # our numbers, in words
    holds: bool            # computed from the numbers
    reason: str = ""       # why it may not hold at our scale (shown only when it does not)
    parts: dict = field(default_factory=dict)   # sub-claim -> bool, for claims with several parts

    def __str__(self):
        verdict = "holds" if self.holds else "does not hold at this scale"
        because = f", most likely because {self.reason}" if not self.holds and self.reason else ""
        return f"{self.figure}. paper: {self.claim}; here: {self.measured}; {verdict}{because}."


def _parts(parts):
    """'a yes, b no' for a dict of sub-claims."""
    return ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in parts.items())


# ----------------------------------------------------------------------------- Fig. 2
def class_purity(labels):
    """How class-specific a map's top images are: labels (M, k) of each map's top-k images ->
    (M,) share of the k images in the map's most frequent class (1/k..1)."""
    labels = np.asarray(labels)
    return np.array([np.bincount(row).max() / len(row) for row in labels])


def top9_verdict(purity_by_layer, chance):
    """Fig. 2: higher layers are more class-specific. purity_by_layer: {layer: mean purity of
    its maps' top-9} from the lowest to the highest layer; chance: the purity of random images."""
    layers = list(purity_by_layer)
    low, high = purity_by_layer[layers[0]], purity_by_layer[layers[-1]]
    numbers = ", ".join(f"{layer} {p:.2f}" for layer, p in purity_by_layer.items())
    return Verdict(
        "Fig. 2", "the top-9 images of a map share ever more class-specific structure with depth "
        "(layer 1-2 edges and colours, layer 5 whole objects such as dog faces)",
        f"share of a map's top-9 images in its most common class: {numbers} (random images: {chance:.2f})",
        bool(high > low and high > chance),
        "a small network trained on few classes learns fewer object-specific units")


# ----------------------------------------------------------------------------- Fig. 4
def settle_epoch(similarity, epochs, threshold=0.9):
    """The first epoch from which a layer stays within ``threshold`` similarity of its final state
    (similarity: (E,) values for ``epochs``, the last being the final epoch)."""
    similarity = np.asarray(similarity)
    for e in range(len(epochs)):
        if (similarity[e:] >= threshold).all():
            return epochs[e]
    return epochs[-1]


def evolution_verdict(similarity_by_layer, epochs, threshold=0.9):
    """Fig. 4: lower layers converge within a few epochs, upper ones only after many.

    similarity_by_layer: {layer: (E,) mean correlation, over the chosen maps, between
    each map's per-image maximum at a snapshot and at the final snapshot}, lowest layer first.
    """
    settled = {layer: settle_epoch(s, epochs, threshold) for layer, s in similarity_by_layer.items()}
    layers = list(settled)
    numbers = ", ".join(f"{layer} by epoch {e}" for layer, e in settled.items())
    return Verdict(
        "Fig. 4", "the lower layers converge within a few epochs; the upper layers only after "
        "a considerable number (40-50) of epochs",
        f"each layer's maps reach a correlation of {threshold} with their final responses: {numbers}",
        bool(settled[layers[0]] < settled[layers[-1]]),
        "a short run on a small dataset leaves the upper layers little time to develop late")


# ----------------------------------------------------------------------------- Fig. 5
def invariance_verdict(results, low=None, high=None):
    """Fig. 5: small translations and scalings change layer 1 a lot and the top layer much less;
    the output is stable to translation and scaling, less to rotation.

    results: list of InvarianceResult (translate, scale, rotate) from ``analysis.invariance``;
    low and high default to the two layers they measured, in their order.
    """
    measured = list(results[0].distances)
    low, high = low or measured[0], high or measured[-1]
    by_kind = {r.kind: r for r in results}
    shifts = [by_kind[k] for k in ("translate", "scale") if k in by_kind]
    d_low = float(np.mean([np.mean(r.distances[low]) for r in shifts]))
    d_high = float(np.mean([np.mean(r.distances[high]) for r in shifts]))
    p_shift = float(np.mean([np.mean(r.prob_true) for r in shifts]))
    p_rotate = float(np.mean(by_kind["rotate"].prob_true)) if "rotate" in by_kind else float("nan")
    parts = {f"{high} changes less than {low}": d_high < d_low,
             "output steadier under translation/scale than rotation": p_shift > p_rotate}
    return Verdict(
        "Fig. 5", "small transformations change layer 1 dramatically but the top feature layer "
        "much less; the output is stable to translation and scaling, not to rotation",
        f"mean relative distance under translation and scaling: {low} {d_low:.2f}, {high} {d_high:.2f}; "
        f"mean p(true class) {p_shift:.2f} translated/scaled vs {p_rotate:.2f} rotated ({_parts(parts)})",
        all(parts.values()), "the images are small, so a shift of a few pixels is a large one", parts)


# ----------------------------------------------------------------------------- Fig. 6
def filters_verdict(stats, accuracies, names):
    """Fig. 6 / Sec. 4.1: the smaller, less strided first layer (ZF) has fewer dead filters,
    more mid-frequency energy and a better accuracy than the Krizhevsky-style one.

    stats: [filter_stats of ZF, of the twin]; accuracies: [top-1 of ZF, of the twin] (None if
    unknown); names: the two models' names.
    """
    (zf, twin), (a_zf, a_twin) = stats, accuracies
    parts = {"no more dead filters": zf["dead"] <= twin["dead"],
             "more mid-frequency energy": zf["band_share"]["mid"] > twin["band_share"]["mid"]}
    if a_zf is not None and a_twin is not None:
        parts["higher accuracy"] = a_zf > a_twin
    accuracy = "" if len(parts) < 3 else f"; accuracy {a_zf:.3f} vs {a_twin:.3f}"
    reasons = {"no more dead filters": "its filters were renormalized or initialised differently",
               "more mid-frequency energy": "a small first-layer kernel (3x3 at 32 px) has little room for "
                                            "mid frequencies, whatever its stride",
               "higher accuracy": "the twin's coarser first layer loses little on images this small"}
    return Verdict(
        "Fig. 6", "the 11x11 stride-4 first layer has dead filters and lacks mid frequencies (and "
        "aliases); 7x7 stride 2 fixes this and classifies better",
        f"{names[0]} vs {names[1]}: dead filters {zf['dead']}/{zf['filters']} vs {twin['dead']}/"
        f"{twin['filters']}, mid-frequency share {zf['band_share']['mid']:.2f} vs "
        f"{twin['band_share']['mid']:.2f}{accuracy} ({_parts(parts)})",
        all(parts.values()), "; and ".join(reasons[k] for k, ok in parts.items() if not ok), parts)


# ----------------------------------------------------------------------------- Fig. 7
def occlusion_verdict(results, names):
    """Fig. 7: occluding the object makes p(true class) drop, and the strongest layer-5 map
    drops at the same places: the model localises the object, not its context.

    results: OcclusionResults of several images; names: their labels for the text.
    """
    drops, agree = [], []
    for r in results:
        drops.append(float(r.prob_true.min() / max(r.prob_true_clean, 1e-12)))
        a, p = r.activation.ravel(), r.prob_true.ravel()
        agree.append(float(np.corrcoef(a, p)[0, 1]) if a.std() > 0 and p.std() > 0 else 0.0)
    dropped = [d < 0.5 for d in drops]
    parts = {"p(true) halves somewhere": sum(dropped) > len(results) / 2,
             "map and p(true) fall together": float(np.mean(agree)) > 0}
    numbers = ", ".join(f"{n} {d:.2f}" for n, d in zip(names, drops))
    return Verdict(
        "Fig. 7", "the probability of the correct class drops sharply when the object is occluded, "
        "and the strongest layer-5 feature map falls at the same positions",
        f"lowest p(true class) over the occluder's positions, as a share of the clean image's: {numbers}; "
        f"mean correlation of the map's activation with p(true class) {np.mean(agree):.2f} "
        f"({_parts(parts)})",
        all(parts.values()), "these small photos are classified with near certainty from evidence spread "
        "over the object and its surroundings, so no single square hides enough of it", parts)


# ----------------------------------------------------------------------------- Table 1
def correspondence_verdict(result, layer="relu5", top_layer="relu7"):
    """Table 1: at layer 5, occluding the same part (eyes, nose) of different faces changes the
    features more consistently (lower Delta) than random occlusions do.

    result: a CorrespondenceResult; a part counts as consistent when its Delta is below the
    random boxes' mean minus one standard deviation.
    """
    mean, std = result.random[layer]
    parts = {part: d[layer] < mean - std for part, d in result.parts.items()}
    numbers = ", ".join(f"{part} {d[layer]:.3f}" for part, d in result.parts.items())
    top = ""
    if top_layer in result.random:
        top = (f"; at {top_layer}: " + ", ".join(f"{p} {d[top_layer]:.3f}" for p, d in result.parts.items())
               + f", random {result.random[top_layer][0]:.3f}")
    return Verdict(
        "Table 1", "at layer 5 the eyes and nose score a lower Delta than random parts (0.067-0.079 vs "
        "0.107): the network relates the same part across images",
        f"Delta at {layer}: {numbers}, random {mean:.3f} +- {std:.3f}{top} (below random - std: "
        f"{_parts(parts)})",
        all(parts.values()), "on our small images a box covers more than the part, and a network "
        "trained on 10 classes has little reason to track the parts of a face", parts)


# ----------------------------------------------------------------------------- Table 2
def ensemble_verdict(member_errors, ensemble_error):
    """Table 2: averaging several models lowers the error. member_errors: {model: top-1 error};
    ensemble_error: the top-1 error of their averaged class probabilities."""
    best = min(member_errors.values())
    numbers = ", ".join(f"{name} {e:.2%}" for name, e in member_errors.items())
    return Verdict(
        "Table 2", "averaging the class probabilities of several models lowers the top-1 error "
        "(38.4% for one Fig. 3 net, 36.7% for five)",
        f"top-1 error {numbers}; their average {ensemble_error:.2%}",
        bool(ensemble_error < best),
        "a weaker member pulls the average down (the paper averaged models of equal quality)")
