"""Each figure's verdict is computed: a case where the paper's claim holds and one where it fails."""
import numpy as np

from minizf import analysis
from minizf.analysis.correspondence import CorrespondenceResult
from minizf.analysis.invariance import InvarianceResult
from minizf.analysis.occlusion import OcclusionResult

from .test_analysis import setup, tiny_net  # noqa: F401  (the fixture)


def test_class_purity_counts_the_most_common_class():
    labels = np.array([[0, 0, 0, 1, 2, 0, 0, 0, 0],       # 7 of 9 in class 0
                       [0, 1, 2, 3, 4, 5, 6, 7, 8]])      # all different
    np.testing.assert_allclose(analysis.class_purity(labels), [7 / 9, 1 / 9])


def test_top9_verdict_flips_with_the_purity_by_depth():
    holds = analysis.top9_verdict({"conv1": 0.2, "conv3": 0.3, "conv5": 0.6}, chance=0.2)
    fails = analysis.top9_verdict({"conv1": 0.4, "conv3": 0.3, "conv5": 0.35}, chance=0.2)
    assert holds.holds and not fails.holds
    assert "conv5 0.60" in holds.measured
    assert "holds." in str(holds) and "does not hold at this scale, most likely because" in str(fails)


def test_settle_epoch_is_the_first_epoch_that_stays_close():
    epochs = [1, 2, 5, 10, 20]
    assert analysis.settle_epoch([0.5, 0.95, 0.8, 0.95, 1.0], epochs) == 10     # dipped at epoch 5
    assert analysis.settle_epoch([0.95, 0.95, 0.95, 0.95, 1.0], epochs) == 1
    assert analysis.settle_epoch([0.1, 0.2, 0.3, 0.4, 1.0], epochs) == 20


def test_evolution_verdict_flips_when_the_upper_layer_settles_first():
    epochs = [1, 5, 20, 45]
    early, late = [0.95, 0.97, 0.99, 1.0], [0.3, 0.6, 0.95, 1.0]
    assert analysis.evolution_verdict({"conv1": early, "conv5": late}, epochs).holds
    assert not analysis.evolution_verdict({"conv1": late, "conv5": early}, epochs).holds


def _invariance(kind, d_low, d_high, p):
    amounts = np.arange(3.0)
    return InvarianceResult(kind, amounts, {"norm1": np.full((2, 3), d_low), "relu7": np.full((2, 3), d_high)},
                            np.full((2, 3), p))


def test_invariance_verdict_needs_both_parts():
    good = [_invariance("translate", 0.8, 0.2, 0.9), _invariance("scale", 0.8, 0.3, 0.8),
            _invariance("rotate", 0.9, 0.8, 0.3)]
    assert analysis.invariance_verdict(good).holds
    top_changes_more = [_invariance("translate", 0.2, 0.8, 0.9), _invariance("scale", 0.3, 0.8, 0.8),
                        _invariance("rotate", 0.9, 0.8, 0.3)]
    v = analysis.invariance_verdict(top_changes_more)
    assert not v.holds and v.parts == {"relu7 changes less than norm1": False,
                                       "output steadier under translation/scale than rotation": True}
    rotation_steady = good[:2] + [_invariance("rotate", 0.9, 0.8, 0.95)]
    assert not analysis.invariance_verdict(rotation_steady).holds


def _stats(dead, mid):
    return {"filters": 64, "dead": dead, "band_share": {"low": 0.5 - mid / 2, "mid": mid, "high": 0.5 - mid / 2}}


def test_filters_verdict_flips_on_each_part():
    names = ["zf", "twin"]
    assert analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [0.8, 0.7], names).holds
    assert not analysis.filters_verdict([_stats(6, 0.4), _stats(5, 0.2)], [0.8, 0.7], names).holds
    assert not analysis.filters_verdict([_stats(0, 0.1), _stats(5, 0.2)], [0.8, 0.7], names).holds
    assert not analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [0.6, 0.7], names).holds
    unknown = analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [None, None], names)
    assert unknown.holds and "higher accuracy" not in unknown.parts


def _occlusion(prob, activation):
    return OcclusionResult(np.arange(3), np.arange(3), activation, prob, np.zeros((3, 3), int), 0,
                           np.zeros((3, 8, 8)), 0.9, 4)


def test_occlusion_verdict_needs_a_drop_where_the_map_drops():
    prob = np.full((3, 3), 0.9)
    prob[1, 1] = 0.1                                  # occluding the centre hides the object
    activation = np.full((3, 3), 5.0)
    activation[1, 1] = 1.0                            # and the layer-5 map falls there too
    assert analysis.occlusion_verdict([_occlusion(prob, activation)], ["dog"]).holds
    flat = np.full((3, 3), 0.9)
    flat[0, 0] = 0.85                                 # no square hides it
    assert not analysis.occlusion_verdict([_occlusion(flat, activation)], ["dog"]).holds
    elsewhere = np.full((3, 3), 5.0)
    elsewhere[1, 1] = 9.0                             # the map rises where p falls
    assert not analysis.occlusion_verdict([_occlusion(prob, elsewhere)], ["dog"]).holds


def test_correspondence_verdict_compares_parts_with_random_boxes():
    consistent = CorrespondenceResult({"left_eye": {"relu5": 0.07, "relu7": 0.07},
                                       "nose": {"relu5": 0.08, "relu7": 0.07}},
                                      {"relu5": (0.107, 0.01), "relu7": (0.073, 0.01)})
    assert analysis.correspondence_verdict(consistent).holds
    reversed_ = CorrespondenceResult({"left_eye": {"relu5": 0.155, "relu7": 0.49},
                                      "nose": {"relu5": 0.177, "relu7": 0.44}},
                                     {"relu5": (0.150, 0.014), "relu7": (0.453, 0.02)})
    v = analysis.correspondence_verdict(reversed_)
    assert not v.holds and "random 0.150 +- 0.014" in v.measured


def test_response_similarity_is_one_for_the_same_network_and_lower_for_another(setup):  # noqa: F811
    net, images, mean = setup
    other = tiny_net()
    rng = np.random.default_rng(5)
    for _, p, _ in other.named_parameters():
        p[...] = 0.3 * rng.standard_normal(p.shape)
    maps = {"conv1": [1, 3], "conv5": [0, 1, 2]}
    same = analysis.response_similarity([(1, net, mean), (2, net, mean)], images, maps)
    np.testing.assert_allclose(same["conv5"], [1.0, 1.0])
    np.testing.assert_allclose(same["conv1"], [1.0, 1.0])
    changed = analysis.response_similarity([(1, other, mean), (2, net, mean)], images, maps)
    assert changed["conv5"][0] < 0.9 and changed["conv5"][1] == 1.0
    responses = analysis.map_responses(net, images, mean, maps, batch_size=7)
    for layer, chosen in maps.items():
        direct = net.forward(((images / 255.0) - mean), upto=layer)[:, chosen].max(axis=(2, 3))
        np.testing.assert_allclose(responses[layer], direct, rtol=1e-6)


def test_ensemble_verdict_needs_the_average_below_the_best_member():
    from minizf.analysis import ensemble_verdict
    assert ensemble_verdict({"a": 0.1309, "b": 0.1313}, 0.1188).holds
    weak_twin = ensemble_verdict({"zf": 0.1309, "twin": 0.1794}, 0.1323)
    assert not weak_twin.holds and "weaker member" in str(weak_twin)


def test_boundaries_of_the_verdicts():
    # Table 1: a part counts as consistent only below random - std; one between random - std and
    # random + std does not.
    between = CorrespondenceResult({"nose": {"relu5": 0.105}}, {"relu5": (0.107, 0.01)})
    assert not analysis.correspondence_verdict(between).holds
    below = CorrespondenceResult({"nose": {"relu5": 0.096}}, {"relu5": (0.107, 0.01)})
    assert analysis.correspondence_verdict(below).holds
    # Fig. 6: as many dead filters as the twin is "no more dead filters".
    assert analysis.filters_verdict([_stats(3, 0.4), _stats(3, 0.2)], [0.8, 0.7], ["zf", "twin"]).holds


def test_invariance_verdict_reads_its_shifts_from_translation_and_scaling_not_rotation():
    # Translation and scaling keep p(true) high; rotation drops it. With the rotation counted among
    # the shifts, p_shift would fall below p_rotate's neighbourhood and the layer distances would move.
    results = [_invariance("translate", 0.8, 0.2, 0.9), _invariance("scale", 0.8, 0.2, 0.9),
               _invariance("rotate", 0.1, 0.9, 0.5)]
    v = analysis.invariance_verdict(results)
    assert v.holds, v.measured
    assert "norm1 0.80, relu7 0.20" in v.measured and "0.90 translated/scaled vs 0.50 rotated" in v.measured
