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
    holds: bool            # computed from the numbers; None: the numbers cannot tell
    reason: str = ""       # why it may not hold at our scale, or why the numbers cannot tell
    parts: dict = field(default_factory=dict)   # sub-claim -> bool, for claims with several parts
    note: str = ""         # what the reader must know whatever the verdict (always shown)

    @property
    def status(self):
        """'holds', 'does not hold' or 'cannot tell'."""
        return {True: "holds", False: "does not hold", None: "cannot tell"}[self.holds]

    def __str__(self):
        if self.holds is None:
            verdict = f"cannot tell{', because ' + self.reason if self.reason else ''}"
        elif self.holds:
            verdict = "holds"
        else:
            because = f", most likely because {self.reason}" if self.reason else ""
            verdict = f"does not hold at this scale{because}"
        note = f" Note: {self.note}." if self.note else ""
        return f"{self.figure}. paper: {self.claim}; here: {self.measured}; {verdict}.{note}"


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
FEW_EPOCHS = 0.2            # "a few epochs": the first fifth of the run (14 of the paper's 70)
MANY_EPOCHS = 0.4           # "a considerable number (40-50)": past 40% of the run (28 of 70)


def settle_epoch(similarity, epochs, threshold=0.9):
    """The snapshot epoch from which a layer stops changing, or None if it is still changing.

    similarity: (E - 1,) values, similarity[i] between the snapshots at epochs[i] and
    epochs[i + 1]. The layer has settled at epochs[i] when every later step keeps it within
    ``threshold``; the last snapshot has no successor, so it is never the settle epoch.
    """
    similarity = np.asarray(similarity)
    if len(similarity) != len(epochs) - 1:
        raise ValueError(f"settle_epoch: {len(epochs)} snapshots have {len(epochs) - 1} steps between them, "
                         f"got {len(similarity)} similarities")
    for i in range(len(similarity)):
        if (similarity[i:] >= threshold).all():
            return epochs[i]
    return None


def evolution_verdict(similarity_by_layer, epochs, threshold=0.9):
    """Fig. 4: lower layers converge within a few epochs, upper ones only after many.

    similarity_by_layer: {layer: (E - 1,) mean correlation, over the chosen maps, between each
    map's per-image maximum at one snapshot and at the next}, lowest layer first; epochs: the
    E snapshot epochs, the last being the end of the run. "A few" is the first FEW_EPOCHS of
    the run, "many" beyond MANY_EPOCHS of it; a layer still changing at the end counts as late.
    """
    settled = {layer: settle_epoch(s, epochs, threshold) for layer, s in similarity_by_layer.items()}
    layers, run = list(settled), epochs[-1]
    few, many = FEW_EPOCHS * run, MANY_EPOCHS * run
    low, high = settled[layers[0]], settled[layers[-1]]
    parts = {f"{layers[0]} settles within the first {few:g} epochs": low is not None and low <= few,
             f"{layers[-1]} settles only after epoch {many:g}": high is None or high > many}
    numbers = ", ".join(f"{layer} {'by epoch ' + str(e) if e is not None else 'still changing'}"
                        for layer, e in settled.items())
    return Verdict(
        "Fig. 4", "the lower layers converge within a few epochs; the upper layers only after "
        "a considerable number (40-50 of 70) of epochs",
        f"a layer has settled when its maps keep a correlation of {threshold} from one snapshot to the next "
        f"until the end of the {run}-epoch run (snapshots at epochs {', '.join(map(str, epochs))}): {numbers} "
        f"({_parts(parts)})",
        all(parts.values()), "a short run on a small dataset leaves the upper layers little time to develop late",
        parts, f"'a few' is the first {FEW_EPOCHS:.0%} of the run, 'many' beyond {MANY_EPOCHS:.0%} of it")


# ----------------------------------------------------------------------------- Fig. 5
STABLE = 0.5                # "stable": p(true class) keeps at least half its untransformed value


def invariance_verdict(results, low=None, high=None):
    """Fig. 5: small translations and scalings change layer 1 a lot and the top layer much less;
    the output is stable to translation and scaling, less to rotation.

    results: list of InvarianceResult (translate, scale, rotate) from ``analysis.invariance``;
    low and high default to the two layers they measured, in their order. p(true class) is
    taken relative to each untransformed image's own.
    """
    measured = list(results[0].distances)
    low, high = low or measured[0], high or measured[-1]
    by_kind = {r.kind: r for r in results}
    shifts = [by_kind[k] for k in ("translate", "scale") if k in by_kind]
    d_low = float(np.mean([np.mean(r.distances[low]) for r in shifts]))
    d_high = float(np.mean([np.mean(r.distances[high]) for r in shifts]))
    p_shift = float(np.mean([np.mean(r.relative_prob) for r in shifts]))
    p_rotate = float(np.mean(by_kind["rotate"].relative_prob)) if "rotate" in by_kind else float("nan")
    parts = {f"{high} changes less than {low}": d_high < d_low,
             f"output keeps >= {STABLE:g} of p(true) under translation/scale": p_shift >= STABLE,
             "output steadier under translation/scale than rotation": p_shift > p_rotate}
    return Verdict(
        "Fig. 5", "small transformations change layer 1 dramatically but the top feature layer "
        "much less; the output is stable to translation and scaling, not to rotation",
        f"mean relative distance under translation and scaling: {low} {d_low:.2f}, {high} {d_high:.2f}; "
        f"p(true class) as a share of the untransformed image's: {p_shift:.2f} translated/scaled, "
        f"{p_rotate:.2f} rotated ({_parts(parts)})",
        all(parts.values()), "the images are small, so a shift of a few pixels is a large one", parts)


# ----------------------------------------------------------------------------- Fig. 6
def filters_verdict(stats, accuracies, names, quality=None):
    """Fig. 6 / Sec. 4.1: the smaller, less strided first layer (ZF) has fewer dead filters and
    more mid-frequency energy than the Krizhevsky-style one (and classifies better).

    stats: [filter_stats of ZF, of the twin]; accuracies: [top-1 of ZF, of the twin] (None if
    unknown); names: the two models' names; quality: [filter_quality of ZF, of the twin] or None.
    When either first layer is not measurably trained (its high-frequency energy within
    TRAINED_RATIO of white noise's), the filter statistics measure initial noise: cannot tell.
    The accuracies are reported on their own: they say nothing of what the filters look like.
    """
    (zf, twin), (a_zf, a_twin) = stats, accuracies
    parts = {"no more dead filters": zf["dead"] <= twin["dead"],
             "more mid-frequency energy": zf["band_share"]["mid"] > twin["band_share"]["mid"]}
    reasons = {"no more dead filters": "its filters were renormalized or initialised differently",
               "more mid-frequency energy": "a small first-layer kernel (3x3 at 32 px) has little room for "
                                            "mid frequencies, whatever its stride"}
    trained = "" if quality is None else "; high-frequency energy vs white noise " + " vs ".join(
        f"{q['high_share']:.2f}/{q['noise_share']:.2f}" for q in quality)
    untrained = [n for n, q in zip(names, quality or []) if q["trained"] is False]
    accuracy = ("" if a_zf is None or a_twin is None else
                f"top-1 accuracy {a_zf:.3f} vs {a_twin:.3f} ({'ZF' if a_zf > a_twin else 'the twin'} classifies "
                "better), a comparison of the models, not of their filters")
    return Verdict(
        "Fig. 6", "the 11x11 stride-4 first layer has dead filters and lacks mid frequencies (and "
        "aliases); 7x7 stride 2 fixes this",
        f"{names[0]} vs {names[1]}: dead filters {zf['dead']}/{zf['filters']} vs {twin['dead']}/"
        f"{twin['filters']}, mid-frequency share {zf['band_share']['mid']:.2f} vs "
        f"{twin['band_share']['mid']:.2f}{trained} ({_parts(parts)})",
        None if untrained else all(parts.values()),
        f"the first-layer filters of {' and '.join(untrained)} are not measurably trained (their "
        "high-frequency energy is close to white noise's), so these statistics measure initial noise"
        if untrained else "; and ".join(reasons[k] for k, ok in parts.items() if not ok), parts, accuracy)


# ----------------------------------------------------------------------------- Fig. 7
def occlusion_effect(results):
    """Fig. 7's effect at one occluder size, over several images' OcclusionResults: (drops, agree,
    parts). drops: each image's lowest p(true class) as a share of its clean value; agree: the
    correlation of the strongest map's activation with p(true class) over the positions."""
    drops, agree = [], []
    for r in results:
        drops.append(float(r.prob_true.min() / max(r.prob_true_clean, 1e-12)))
        a, p = r.activation.ravel(), r.prob_true.ravel()
        agree.append(float(np.corrcoef(a, p)[0, 1]) if a.std() > 0 and p.std() > 0 else 0.0)
    parts = {"p(true) halves somewhere": sum(d < 0.5 for d in drops) > len(results) / 2,
             "map and p(true) fall together": float(np.mean(agree)) > 0}
    return drops, agree, parts


def occlusion_verdict(sweep, names, side=None):
    """Fig. 7: occluding the object makes p(true class) drop, and the strongest layer-5 map
    drops at the same places: the model localises the object, not its context.

    sweep: {occluder side in pixels: OcclusionResults of the images, in the order of names},
    smallest first; side: the images' side, to state each size as a share of it. The claim
    holds at the smallest size where both parts hold; it does not when no size shows it.
    """
    lines, shown = [], {}
    for size, results in sweep.items():
        drops, agree, parts = occlusion_effect(results)
        share = f" ({size / side:.2f} of the side)" if side else ""
        lines.append(f"{size} px{share}: " + ", ".join(f"{n} {d:.2f}" for n, d in zip(names, drops))
                     + f", map-p(true) correlation {np.mean(agree):.2f} ({_parts(parts)})")
        shown[f"{size} px"] = all(parts.values())
    effect_at = next((size for size in sweep if shown[f"{size} px"]), None)
    found = (f"the effect appears from a {effect_at} px square" if effect_at is not None
             else "the effect appears at none of these sizes")
    return Verdict(
        "Fig. 7", "the probability of the correct class drops sharply when the object is occluded, "
        "and the strongest layer-5 feature map falls at the same positions",
        "lowest p(true class) over the occluder's positions, as a share of the clean image's, by the "
        f"square's side: {'; '.join(lines)}; {found}",
        effect_at is not None, "these small photos are classified with near certainty from evidence spread "
        "over the object and its surroundings, so no square of these sizes hides enough of it",
        shown)


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
