"""Each figure's verdict is computed: a case where the paper's claim holds and one where it fails."""
import numpy as np
import pytest

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
    assert "holds." in str(holds) and str(fails).endswith("does not hold here: conv5's purity 0.35 is not above "
                                                         "conv1's 0.40.")
    # against the same architecture untrained: a purity random weights reach is no evidence
    untrained = analysis.top9_verdict({"conv1": 0.2, "conv5": 0.4}, chance=0.2, untrained=0.4)
    assert untrained.holds is False and untrained.reason == "conv5's purity 0.40 is not above the same network's " \
        "untrained 0.40"
    assert analysis.top9_verdict({"conv1": 0.2, "conv5": 0.4}, chance=0.2, untrained=0.3).holds


def test_settle_epoch_is_measured_between_consecutive_snapshots():
    epochs = [1, 2, 5, 10, 20]                           # 4 steps between 5 snapshots
    assert analysis.settle_epoch([0.5, 0.95, 0.8, 0.95], epochs) == 10      # moved again after epoch 5
    assert analysis.settle_epoch([0.95, 0.95, 0.95, 0.95], epochs) == 1
    assert analysis.settle_epoch([0.5, 0.9, 0.9, 0.9], epochs) == 2         # kept exactly at the threshold
    assert analysis.settle_epoch([0.95, 0.95, 0.95, 0.5], epochs) is None   # the last step still moved
    # the last snapshot is never the settle epoch: it has no successor to agree with
    assert analysis.settle_epoch([0.1, 0.2, 0.3, 0.91], epochs) == 10
    with pytest.raises(ValueError, match="4 steps"):
        analysis.settle_epoch([0.9] * 5, epochs)


def test_evolution_verdict_flips_when_the_upper_layer_settles_early():
    epochs = [1, 2, 5, 10, 20, 30, 40, 64, 70]          # the paper's Fig. 4 snapshots of a 70-epoch run
    early = [0.95] * 8                                   # settled by epoch 1
    late = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95, 0.97]   # settled by epoch 40
    holds = analysis.evolution_verdict({"conv1": early, "conv5": late}, epochs)
    assert holds.holds and "conv5 by epoch 40" in holds.measured and "first 20%" in str(holds)
    assert not analysis.evolution_verdict({"conv1": late, "conv5": early}, epochs).holds
    # conv1 settling at epoch 20 of 70 is not "a few epochs" (the first 14)
    slow_low = [0.5, 0.5, 0.5, 0.5, 0.95, 0.95, 0.95, 0.95]
    v = analysis.evolution_verdict({"conv1": slow_low, "conv5": late}, epochs)
    assert not v.holds and v.parts == {"conv1 settles within the first 14 epochs": False,
                                       "conv5 settles only after epoch 28": True}
    # an upper layer still changing at the end counts as late, not as settled at the last snapshot
    changing = [0.3] * 8
    assert analysis.evolution_verdict({"conv1": early, "conv5": changing}, epochs).holds


def _invariance(kind, d_low, d_high, p, clean=1.0):
    amounts = np.arange(3.0)
    return InvarianceResult(kind, amounts, {"norm1": np.full((2, 3), d_low), "relu7": np.full((2, 3), d_high)},
                            np.full((2, 3), p), np.full(2, clean))


def test_invariance_verdict_needs_every_part():
    good = [_invariance("translate", 0.8, 0.2, 0.9), _invariance("scale", 0.8, 0.3, 0.8),
            _invariance("rotate", 0.9, 0.8, 0.3)]
    assert analysis.invariance_verdict(good).holds
    top_changes_more = [_invariance("translate", 0.2, 0.8, 0.9), _invariance("scale", 0.3, 0.8, 0.8),
                        _invariance("rotate", 0.9, 0.8, 0.3)]
    v = analysis.invariance_verdict(top_changes_more)
    assert not v.holds and v.parts["relu7 changes less than norm1"] is False
    rotation_steady = good[:2] + [_invariance("rotate", 0.9, 0.8, 0.95)]
    assert not analysis.invariance_verdict(rotation_steady).holds
    # steadier than under rotation, but p(true) falls to a fifth: not "stable"
    both_fall = [_invariance("translate", 0.8, 0.2, 0.2), _invariance("scale", 0.8, 0.2, 0.2),
                 _invariance("rotate", 0.9, 0.8, 0.1)]
    v = analysis.invariance_verdict(both_fall)
    assert not v.holds and v.parts["output keeps >= 0.5 of p(true) under translation/scale"] is False


def test_invariance_verdict_takes_p_true_relative_to_the_untransformed_image():
    # p(true) 0.4 everywhere, and 0.4 on the untransformed image too: nothing changed (relative 1.0)
    unsure = [_invariance("translate", 0.8, 0.2, 0.4, clean=0.4), _invariance("scale", 0.8, 0.2, 0.4, clean=0.4),
              _invariance("rotate", 0.9, 0.8, 0.1, clean=0.4)]
    v = analysis.invariance_verdict(unsure)
    assert v.holds and "1.00 translated/scaled, 0.25 rotated" in v.measured
    # 0.3 of an untransformed 1.0 is a drop, however much further rotation falls
    dropped = [_invariance("translate", 0.8, 0.2, 0.3), _invariance("scale", 0.8, 0.2, 0.3),
               _invariance("rotate", 0.9, 0.8, 0.2)]
    assert not analysis.invariance_verdict(dropped).holds


def _stats(dead, mid):
    return {"filters": 64, "dead": dead, "band_share": {"low": 0.5 - mid / 2, "mid": mid, "high": 0.5 - mid / 2}}


def _quality(trained):
    return {"high_share": 0.4 if trained else 0.8, "noise_share": 0.83, "ratio": 0.48 if trained else 0.96,
            "trained": trained, "init_correlation": None}


def test_filters_verdict_flips_on_each_part():
    names = ["zf", "twin"]
    assert analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [0.8, 0.7], names).holds
    assert not analysis.filters_verdict([_stats(6, 0.4), _stats(5, 0.2)], [0.8, 0.7], names).holds
    assert not analysis.filters_verdict([_stats(0, 0.1), _stats(5, 0.2)], [0.8, 0.7], names).holds
    unknown = analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [None, None], names)
    assert unknown.holds and unknown.note == ""


def test_filters_verdict_reports_the_accuracy_on_its_own():
    # a worse ZF model does not change what the filters show, and a better one does not rescue them
    v = analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [0.6, 0.7], ["zf", "twin"])
    assert v.holds and "accuracy 0.600 vs 0.700 (the twin classifies better)" in v.note
    assert "Note: top-1" in str(v)


def test_filters_verdict_cannot_tell_when_the_filters_are_noise():
    stats, names = [_stats(0, 0.4), _stats(5, 0.2)], ["zf", "twin"]
    trained = analysis.filters_verdict(stats, [0.8, 0.7], names, [_quality(True), _quality(True)])
    assert trained.holds is True and trained.status == "holds"
    noise = analysis.filters_verdict(stats, [0.8, 0.7], names, [_quality(False), _quality(True)])
    assert noise.holds is None and noise.status == "cannot tell"
    assert "cannot tell, because the first-layer filters of zf are not measurably trained" in str(noise)
    assert "does not hold" not in str(noise) and "; holds" not in str(noise)
    # a kernel too small to measure (trained None) does not block the verdict
    small = analysis.filters_verdict(stats, [0.8, 0.7], names, [dict(_quality(True), trained=None)] * 2)
    assert small.holds is True


def _occlusion(prob, activation):
    return OcclusionResult(np.arange(3), np.arange(3), activation, prob, np.zeros((3, 3), int), 0,
                           np.zeros((3, 8, 8)), 0.9, 4)


def test_occlusion_verdict_needs_a_drop_where_the_map_drops():
    prob = np.full((3, 3), 0.9)
    prob[1, 1] = 0.1                                  # occluding the centre hides the object
    activation = np.full((3, 3), 5.0)
    activation[1, 1] = 1.0                            # and the layer-5 map falls there too
    assert analysis.occlusion_verdict({8: [_occlusion(prob, activation)]}, ["dog"]).holds
    flat = np.full((3, 3), 0.9)
    flat[0, 0] = 0.85                                 # no square hides it
    assert not analysis.occlusion_verdict({8: [_occlusion(flat, activation)]}, ["dog"]).holds
    elsewhere = np.full((3, 3), 5.0)
    elsewhere[1, 1] = 9.0                             # the map rises where p falls
    assert not analysis.occlusion_verdict({8: [_occlusion(prob, elsewhere)]}, ["dog"]).holds


def test_occlusion_needs_the_drop_in_more_than_half_of_the_images():
    prob, activation = np.full((3, 3), 0.9), np.full((3, 3), 5.0)
    prob[1, 1], activation[1, 1] = 0.1, 1.0
    flat = np.full((3, 3), 0.9)
    flat[0, 0] = 0.85
    halves = _occlusion(prob, activation)
    stays = _occlusion(flat, activation)
    assert analysis.occlusion_effect([halves, halves, stays])[1]["p(true) halves somewhere"]
    assert not analysis.occlusion_effect([halves, stays])[1]["p(true) halves somewhere"]     # exactly half
    assert not analysis.occlusion_verdict({8: [halves, stays]}, ["dog", "cat"]).holds


def test_occlusion_verdict_names_the_size_where_the_effect_appears():
    prob, activation = np.full((3, 3), 0.9), np.full((3, 3), 5.0)
    flat = prob.copy()
    flat[0, 0] = 0.85
    prob[1, 1], activation[1, 1] = 0.1, 1.0
    sweep = {8: [_occlusion(flat, activation)], 13: [_occlusion(prob, activation)],
             21: [_occlusion(prob, activation)]}
    v = analysis.occlusion_verdict(sweep, ["dog"], side=64)
    assert v.holds and v.parts == {"8 px": False, "13 px": True, "21 px": True}
    assert "the effect appears from a 13 px square" in v.measured and "13 px (0.20 of the side)" in v.measured
    none = analysis.occlusion_verdict({size: [_occlusion(flat, activation)] for size in (8, 13, 21)}, ["dog"], 64)
    assert not none.holds and "appears at none of these sizes" in none.measured


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
    np.testing.assert_allclose(same["conv5"], [1.0])          # one step between two snapshots
    np.testing.assert_allclose(same["conv1"], [1.0])
    changed = analysis.response_similarity([(1, other, mean), (2, net, mean), (3, net, mean)], images, maps)
    assert changed["conv5"][0] < 0.9 and changed["conv5"][1] == pytest.approx(1.0)
    responses = analysis.map_responses(net, images, mean, maps, batch_size=7)
    for layer, chosen in maps.items():
        direct = net.forward(((images / 255.0) - mean), upto=layer)[:, chosen].max(axis=(2, 3))
        np.testing.assert_allclose(responses[layer], direct, rtol=1e-6)


def test_ensemble_verdict_needs_the_average_below_the_best_member():
    from minizf.analysis import ensemble_verdict
    assert ensemble_verdict({"a": 0.1309, "b": 0.1313}, 0.1188).holds
    weak_twin = ensemble_verdict({"zf": 0.1309, "twin": 0.1794}, 0.1323)
    assert not weak_twin.holds and weak_twin.reason == "the average's 13.23% is not below the best member's 13.09%"


def test_boundaries_of_the_verdicts():
    # Table 1: a part counts as consistent only below random - std; one between random - std and
    # random + std does not.
    between = CorrespondenceResult({"nose": {"relu5": 0.105}}, {"relu5": (0.107, 0.01)})
    assert not analysis.correspondence_verdict(between).holds
    below = CorrespondenceResult({"nose": {"relu5": 0.096}}, {"relu5": (0.107, 0.01)})
    assert analysis.correspondence_verdict(below).holds
    # Fig. 6: as many dead filters as the twin is "no more dead filters"; none in either cannot tell
    assert analysis.filters_verdict([_stats(3, 0.4), _stats(3, 0.2)], [0.8, 0.7], ["zf", "twin"]).holds
    neither = analysis.filters_verdict([_stats(0, 0.4), _stats(0, 0.2)], [0.8, 0.7], ["zf", "twin"])
    assert neither.holds is None and neither.parts["no more dead filters"] is None
    assert "neither model has a dead filter (RMS below 0.1 x the median)" in str(neither)


def test_invariance_verdict_reads_its_shifts_from_translation_and_scaling_not_rotation():
    # Translation and scaling keep p(true) high; rotation drops it. With the rotation counted among
    # the shifts, p_shift would fall below p_rotate's neighbourhood and the layer distances would move.
    results = [_invariance("translate", 0.8, 0.2, 0.9), _invariance("scale", 0.8, 0.2, 0.9),
               _invariance("rotate", 0.1, 0.9, 0.5)]
    v = analysis.invariance_verdict(results)
    assert v.holds, v.measured
    assert "norm1 0.80, relu7 0.20" in v.measured and "0.90 translated/scaled, 0.50 rotated" in v.measured


def test_fig7_co_variation_fails_with_p_true_flat_or_barely_moving():
    activation = np.full((3, 3), 5.0)
    activation[1, 1] = 1.0
    flat = np.full((3, 3), 1.0)                                   # p(true) flat at 1.00: nothing falls
    numbers, parts = analysis.occlusion_effect([_occlusion(flat, activation)])
    assert numbers["agree"] == [0.0] and not parts["map and p(true) fall together"]
    barely = np.full((3, 3), 0.9)
    barely[1, 1] = 0.88                                           # in step with the map, by 2%
    numbers, parts = analysis.occlusion_effect([_occlusion(barely, activation)])
    assert numbers["agree"][0] > 0.5 and numbers["falls"][0] > 0.95
    assert not parts["map and p(true) fall together"]
    v = analysis.occlusion_verdict({8: [_occlusion(barely, activation)]}, ["dog"])
    assert v.holds is False and "the map and p(true) do not fall together" in v.reason
    assert "falls below 0.5 of its clean value in 0 of 1 images" in v.reason     # both parts failed: both said


def test_a_reason_names_only_the_parts_that_failed():
    prob = np.full((3, 3), 0.9)
    prob[1, 1] = 0.1                                              # halves, but where the map rises
    up = np.full((3, 3), 5.0)
    up[1, 1] = 9.0
    v = analysis.occlusion_verdict({8: [_occlusion(prob, up)]}, ["dog"])
    assert v.holds is False and "do not fall together" in v.reason and "falls below" not in v.reason
    names = ["zf", "twin"]
    mid_only = analysis.filters_verdict([_stats(0, 0.1), _stats(5, 0.2)], [0.8, 0.7], names)
    assert mid_only.reason == "zf's mid-frequency share 0.10 is not above 0.20"
    dead_only = analysis.filters_verdict([_stats(6, 0.4), _stats(5, 0.2)], [0.8, 0.7], names)
    assert dead_only.reason == "zf has 6 dead filters (RMS below 0.1 x the median) against 5"
    fine = analysis.filters_verdict([_stats(0, 0.4), _stats(5, 0.2)], [0.8, 0.7], names)
    assert fine.holds and fine.reason == ""


def test_fig6_aliasing_is_the_energy_the_stride_folds():
    from minizf.analysis.architecture import alias_share
    y, x = np.mgrid[0:11, 0:11]
    wave = np.cos(2 * np.pi * 0.2 * x)[None, None] * np.ones((1, 3, 1, 1))     # 0.2 cycles per pixel
    assert alias_share(wave, 4)[0] > 0.9           # above stride 4's Nyquist frequency, 1/8
    assert alias_share(wave, 2)[0] < 0.1           # below stride 2's, 1/4
    zf, twin = dict(_stats(2, 0.4), alias_share=0.1, stride=(2, 2)), dict(_stats(5, 0.2), alias_share=0.3,
                                                                          stride=(4, 4))
    v = analysis.filters_verdict([zf, twin], [None, None], ["zf", "twin"])
    assert v.holds and "aliasing) 0.10 (stride 2) vs 0.30 (stride 4)" in v.measured
    worse = analysis.filters_verdict([dict(zf, alias_share=0.4), twin], [None, None], ["zf", "twin"])
    assert worse.holds is False and worse.reason.startswith("zf puts 0.40 of its energy above its stride's Nyquist")


@pytest.mark.slow
def test_the_bundled_model_passes_the_parts_it_should(tmp_path):
    # on zf64 and its twin: Fig. 2 beats random images and the same network untrained; Fig. 6's
    # mid frequencies and aliasing hold and its dead filters cannot be told (neither model has one)
    from minizf.figures import default_model, figure_filters, figures_top9, images_for, with_twin
    net, mean, meta = default_model()
    if meta["model"] != "zf64":
        pytest.skip("zf64 is not bundled")
    _, _, fig2 = figures_top9(net, mean, images_for(net), str(tmp_path), 8, meta=meta)
    assert fig2.holds is True and all(fig2.parts.values()), fig2
    _, _, fig6 = figure_filters(with_twin(net, mean, None, meta), str(tmp_path))
    assert fig6.parts == {"no more dead filters": None, "more mid-frequency energy": True, "less aliasing": True}
    assert fig6.holds is None and "neither model has a dead filter" in fig6.reason
