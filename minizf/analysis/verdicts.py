"""Does the paper's claim hold here? One computed verdict per figure of Sec. 4.

Each function takes the numbers an experiment measured and returns a
``Verdict``: the paper's claim, our numbers, whether the claim holds (computed
from the numbers, never written in by hand) and, when it does not, which part
failed and by how much (computed from that part's numbers, never a fixed
sentence). The tour prints them under each figure, the
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
    reason: str = ""       # the failed parts with their numbers, or why the numbers cannot tell
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
            because = f": {self.reason}" if self.reason else ""
            verdict = f"does not hold here{because}"
        note = f" Note: {self.note}." if self.note else ""
        return f"{self.figure}. paper: {self.claim}; here: {self.measured}; {verdict}.{note}"


def _parts(parts):
    """'a yes, b no, c cannot tell' for a dict of sub-claims (None: cannot tell)."""
    return ", ".join(f"{name} {({True: 'yes', False: 'no', None: 'cannot tell'})[ok]}" for name, ok in parts.items())


def _failed(parts, why):
    """The reason of a verdict: each part that failed, in words with its numbers (why[part])."""
    return "; ".join(why[name] for name, ok in parts.items() if ok is False)


def _combine(parts):
    """A claim of several parts: False if one fails, None if one cannot be told, else True."""
    values = list(parts.values())
    return False if False in values else None if None in values else True


# ----------------------------------------------------------------------------- Fig. 2
def class_purity(labels):
    """How class-specific a map's top images are: labels (M, k) of each map's top-k images ->
    (M,) share of the k images in the map's most frequent class (1/k..1)."""
    labels = np.asarray(labels)
    return np.array([np.bincount(row).max() / len(row) for row in labels])


def top9_verdict(purity_by_layer, chance, untrained=None):
    """Fig. 2: higher layers are more class-specific. purity_by_layer: {layer: mean purity of
    its maps' top-9} from the lowest to the highest layer; chance: the purity of random images;
    untrained: the highest layer's purity in the same network re-initialised (what the
    architecture alone gives, before any learning), when measured."""
    layers = list(purity_by_layer)
    low, high = purity_by_layer[layers[0]], purity_by_layer[layers[-1]]
    numbers = ", ".join(f"{layer} {p:.2f}" for layer, p in purity_by_layer.items())
    parts = {f"{layers[-1]} purer than {layers[0]}": bool(high > low),
             "purer than random images": bool(high > chance)}
    why = {f"{layers[-1]} purer than {layers[0]}": f"{layers[-1]}'s purity {high:.2f} is not above "
                                                   f"{layers[0]}'s {low:.2f}",
           "purer than random images": f"{layers[-1]}'s purity {high:.2f} is not above random images' {chance:.2f}"}
    baseline = ""
    if untrained is not None:
        parts["purer than the network untrained"] = bool(high > untrained)
        why["purer than the network untrained"] = (f"{layers[-1]}'s purity {high:.2f} is not above the same "
                                                   f"network's untrained {untrained:.2f}")
        baseline = f", the same network untrained: {untrained:.2f}"
    return Verdict(
        "Fig. 2", "the top-9 images of a map share ever more class-specific structure with depth "
        "(layer 1-2 edges and colours, layer 5 whole objects such as dog faces)",
        f"share of a map's top-9 images in its most common class: {numbers} (random images: {chance:.2f}"
        f"{baseline}; {_parts(parts)})",
        _combine(parts), _failed(parts, why), parts)


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
    early = f"{layers[0]} settles within the first {few:g} epochs"
    late = f"{layers[-1]} settles only after epoch {many:g}"
    parts = {early: low is not None and low <= few, late: high is None or high > many}
    why = {early: f"{layers[0]} {'settles by epoch ' + str(low) if low is not None else 'is still changing'} "
                  f"(within {few:g} needed)",
           late: f"{layers[-1]} settles already by epoch {high} (after {many:g} needed)"}
    numbers = ", ".join(f"{layer} {'by epoch ' + str(e) if e is not None else 'still changing'}"
                        for layer, e in settled.items())
    return Verdict(
        "Fig. 4", "the lower layers converge within a few epochs; the upper layers only after "
        "a considerable number (40-50 of 70) of epochs",
        f"a layer has settled when its maps keep a correlation of {threshold} from one snapshot to the next "
        f"until the end of the {run}-epoch run (snapshots at epochs {', '.join(map(str, epochs))}): {numbers} "
        f"({_parts(parts)})",
        all(parts.values()), _failed(parts, why), parts,
        f"'a few' is the first {FEW_EPOCHS:.0%} of the run, 'many' beyond {MANY_EPOCHS:.0%} of it")


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
    less, stable, steadier = (f"{high} changes less than {low}",
                              f"output keeps >= {STABLE:g} of p(true) under translation/scale",
                              "output steadier under translation/scale than rotation")
    parts = {less: d_high < d_low, stable: p_shift >= STABLE, steadier: p_shift > p_rotate}
    why = {less: f"{high} moves {d_high:.2f}, not less than {low}'s {d_low:.2f}",
           stable: f"p(true) keeps only {p_shift:.2f} of its value when translated or scaled (>= {STABLE:g} needed)",
           steadier: f"p(true) keeps {p_shift:.2f} translated or scaled, not more than the {p_rotate:.2f} it keeps "
                     "rotated"}
    return Verdict(
        "Fig. 5", "small transformations change layer 1 dramatically but the top feature layer "
        "much less; the output is stable to translation and scaling, not to rotation",
        f"mean relative distance under translation and scaling: {low} {d_low:.2f}, {high} {d_high:.2f}; "
        f"p(true class) as a share of the untransformed image's: {p_shift:.2f} translated/scaled, "
        f"{p_rotate:.2f} rotated ({_parts(parts)})",
        all(parts.values()), _failed(parts, why), parts)


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
    dead, mid, alias = "no more dead filters", "more mid-frequency energy", "less aliasing"
    # no dead filter in either model: nothing to compare, not a win
    parts = {dead: None if zf["dead"] == twin["dead"] == 0 else zf["dead"] <= twin["dead"],
             mid: zf["band_share"]["mid"] > twin["band_share"]["mid"]}
    cut = f"RMS below {zf.get('dead_fraction', 0.1):g} x the median"
    why = {dead: f"{names[0]} has {zf['dead']} dead filters ({cut}) against {twin['dead']}",
           mid: f"{names[0]}'s mid-frequency share {zf['band_share']['mid']:.2f} is not above "
                f"{twin['band_share']['mid']:.2f}"}
    aliasing = ""
    if "alias_share" in zf and "alias_share" in twin:
        parts[alias] = zf["alias_share"] < twin["alias_share"]
        why[alias] = (f"{names[0]} puts {zf['alias_share']:.2f} of its energy above its stride's Nyquist "
                      f"frequency, not less than {twin['alias_share']:.2f}")
        aliasing = (f", energy its stride folds (aliasing) {zf['alias_share']:.2f} (stride {zf['stride'][0]}) vs "
                    f"{twin['alias_share']:.2f} (stride {twin['stride'][0]})")
    trained = "" if quality is None else "; high-frequency energy vs white noise " + " vs ".join(
        f"{q['high_share']:.2f}/{q['noise_share']:.2f}" for q in quality)
    untrained = [n for n, q in zip(names, quality or []) if q["trained"] is False]
    accuracy = ("" if a_zf is None or a_twin is None else
                f"top-1 accuracy {a_zf:.3f} vs {a_twin:.3f} ({'ZF' if a_zf > a_twin else 'the twin'} classifies "
                "better), a comparison of the models, not of their filters")
    holds = None if untrained else _combine(parts)
    if untrained:
        reason = (f"the first-layer filters of {' and '.join(untrained)} are not measurably trained (their "
                  "high-frequency energy is close to white noise's), so these statistics measure initial noise")
    elif holds is None:
        reason = f"neither model has a dead filter ({cut}), so that part cannot be told"
    else:
        reason = _failed(parts, why)
    return Verdict(
        "Fig. 6", "the 11x11 stride-4 first layer has dead filters and lacks mid frequencies (and "
        "aliases); 7x7 stride 2 fixes this",
        f"{names[0]} vs {names[1]}: dead filters {zf['dead']}/{zf['filters']} vs {twin['dead']}/"
        f"{twin['filters']}, mid-frequency share {zf['band_share']['mid']:.2f} vs "
        f"{twin['band_share']['mid']:.2f}{aliasing}{trained} ({_parts(parts)})",
        holds, reason, parts, accuracy)


# ----------------------------------------------------------------------------- Fig. 7
HALVES = 0.5                # "drops sharply": the lowest p(true) below half of the clean image's
AGREE = 0.3                 # the map and p(true) rise and fall together: rank correlation at least this
FALLS = 0.75                # and where the map is lowest, p(true) keeps at most this share of its clean value


def rank_correlation(a, b):
    """Spearman's correlation of two equal-length arrays (ties get their mean rank); 0 when either
    is constant (a flat p(true) falls with nothing)."""
    def ranks(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=float)
        for value in np.unique(x):                  # ties share their mean rank
            tied = x == value
            r[tied] = r[tied].mean()
        return r
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def occlusion_effect(results):
    """Fig. 7's effect at one occluder size, over several images' OcclusionResults: (numbers, parts).

    numbers: {"drops": each image's lowest p(true class) as a share of its clean value, "agree":
    the rank correlation of the strongest map's activation with p(true) over the positions,
    "falls": p(true) where that map is lowest, as a share of the clean value}. Parts: p(true)
    halves in more than half of the images; the map and p(true) fall together (mean rank
    correlation >= AGREE and mean fall <= FALLS: related in order, and by a real amount)."""
    drops, agree, falls = [], [], []
    for r in results:
        clean = max(r.prob_true_clean, 1e-12)
        drops.append(float(r.prob_true.min() / clean))
        agree.append(rank_correlation(r.activation, r.prob_true))
        falls.append(float(r.prob_true.ravel()[np.argmin(r.activation.ravel())] / clean))
    parts = {"p(true) halves somewhere": sum(d < HALVES for d in drops) > len(results) / 2,
             "map and p(true) fall together": bool(np.mean(agree) >= AGREE and np.mean(falls) <= FALLS)}
    return {"drops": drops, "agree": agree, "falls": falls}, parts


def _occlusion_why(size, numbers):
    n = len(numbers["drops"])
    halved = sum(d < HALVES for d in numbers["drops"])
    return {"p(true) halves somewhere": f"at {size} px p(true) falls below {HALVES:g} of its clean value in "
                                        f"{halved} of {n} images (lowest share {min(numbers['drops']):.2f}; more "
                                        "than half the images needed)",
            "map and p(true) fall together": f"at {size} px the map and p(true) do not fall together (rank "
                                             f"correlation {np.mean(numbers['agree']):.2f}, {AGREE:g} needed; "
                                             f"p(true) where the map is lowest keeps {np.mean(numbers['falls']):.2f}"
                                             f" of its value, {FALLS:g} at most)"}


def occlusion_verdict(sweep, names, side=None):
    """Fig. 7: occluding the object makes p(true class) drop, and the strongest layer-5 map
    drops at the same places: the model localises the object, not its context.

    sweep: {occluder side in pixels: OcclusionResults of the images, in the order of names},
    smallest first; side: the images' side, to state each size as a share of it. The claim
    holds at the smallest size where both parts hold; it does not when no size shows it, and
    the reason is what failed at the largest size.
    """
    lines, shown, failed = [], {}, ""
    for size, results in sweep.items():
        numbers, parts = occlusion_effect(results)
        share = f" ({size / side:.2f} of the side)" if side else ""
        lines.append(f"{size} px{share}: " + ", ".join(f"{n} {d:.2f}" for n, d in zip(names, numbers["drops"]))
                     + f", map-p(true) rank correlation {np.mean(numbers['agree']):.2f}, p(true) where the map "
                     f"is lowest {np.mean(numbers['falls']):.2f} ({_parts(parts)})")
        shown[f"{size} px"] = all(parts.values())
        failed = _failed(parts, _occlusion_why(size, numbers))
    effect_at = next((size for size in sweep if shown[f"{size} px"]), None)
    found = (f"the effect appears from a {effect_at} px square" if effect_at is not None
             else "the effect appears at none of these sizes")
    return Verdict(
        "Fig. 7", "the probability of the correct class drops sharply when the object is occluded, "
        "and the strongest layer-5 feature map falls at the same positions",
        "lowest p(true class) over the occluder's positions, as a share of the clean image's, by the "
        f"square's side: {'; '.join(lines)}; {found}",
        effect_at is not None, "" if effect_at is not None else failed, shown)


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
        all(parts.values()), _failed(parts, {part: f"{part}'s Delta {d[layer]:.3f} is not below random's "
                                               f"{mean:.3f} - {std:.3f} = {mean - std:.3f}"
                                               for part, d in result.parts.items()}), parts)


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
        "" if ensemble_error < best else f"the average's {ensemble_error:.2%} is not below the best member's "
                                         f"{best:.2%}")
