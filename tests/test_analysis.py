"""The experiments of Sec. 4 on a tiny network and a few images, against direct computations."""
import numpy as np
import pytest

from minizf import Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential, analysis, data
from minizf.analysis.architecture import band_energy, dead_filters
from minizf.analysis.correspondence import hamming_delta, occlude_box
from minizf.analysis.occlusion import occluded_images
from minizf.data import normalize
from minizf.deconv import Deconvnet, cut_patch, receptive_field
from minizf.functional import log_softmax


def tiny_net():
    net = Sequential([
        ("conv1", Conv2D(3, 4, 3, pad=1)), ("relu1", ReLU()), ("pool1", MaxPool2D(3, 2, ceil_mode=True)),
        ("conv5", Conv2D(4, 5, 3, pad=1)), ("relu5", ReLU()), ("pool5", MaxPool2D(3, 2, ceil_mode=True)),
        ("flatten", Flatten()), ("fc7", Linear(5 * 4 * 4, 6)), ("relu7", ReLU()), ("fc8", Linear(6, 3)),
    ], input_shape=(3, 16, 16)).astype(np.float64)
    rng = np.random.default_rng(0)
    for _, p, _ in net.named_parameters():
        p[...] = 0.3 * rng.standard_normal(p.shape)
    return net


@pytest.fixture
def setup():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (23, 3, 16, 16), dtype=np.uint8)
    mean = images.mean(axis=0).astype(np.float64) / 255
    return tiny_net(), images, mean


def test_top_k_equals_a_brute_force_sort(setup):
    net, images, mean = setup
    channels = np.array([0, 3, 4])
    top = analysis.top_activations(net, images, mean, "conv5", channels, k=9, batch_size=5)
    acts = net.forward(normalize(images, mean), upto="conv5")[:, channels]     # all at once
    per_image = acts.reshape(len(images), len(channels), -1).max(axis=2)         # one maximum per image
    for m in range(len(channels)):
        order = np.argsort(-per_image[:, m], kind="stable")[:9]
        np.testing.assert_array_equal(top.images[m], order)
        np.testing.assert_allclose(top.values[m], per_image[order, m], rtol=1e-12)
        for k, (img, (i, j)) in enumerate(zip(top.images[m], top.positions[m])):
            assert acts[img, m, i, j] == top.values[m, k]
    assert all(len(set(row)) == 9 for row in top.images)          # 9 different images


def test_projected_top_k_are_the_deconvnet_projections(setup):
    net, images, mean = setup
    top = analysis.top_activations(net, images, mean, "pool1", [1, 2], k=4)
    projections, patches = analysis.project_top(net, images, mean, top)
    field = receptive_field(net, "pool1")
    assert projections.shape == patches.shape == (2, 4, 3) + field.size
    img, (i, j) = top.images[1, 2], top.positions[1, 2]
    one = Deconvnet(net).project(normalize(images[img:img + 1], mean), "pool1", 2, (i, j))[0]
    np.testing.assert_allclose(projections[1, 2], cut_patch(one, field, i, j), rtol=1e-12)
    np.testing.assert_allclose(patches[1, 2], cut_patch(images[img] / 255.0, field, i, j, fill=0.5), rtol=1e-6)


def test_occlusion_map_equals_a_direct_forward(setup):
    net, images, mean = setup
    result = analysis.occlusion(net, images[0], 2, mean, layer="relu5", size=4, stride=3, batch_size=7)
    assert result.activation.shape == result.prob_true.shape == (len(result.rows), len(result.cols))
    fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)
    r, c = 2, 1
    occluded = images[0].copy()
    occluded[:, result.rows[r]:result.rows[r] + 4, result.cols[c]:result.cols[c] + 4] = fill[:, None, None]
    scores = net.forward(normalize(occluded[None], mean), keep=True)
    probs = np.exp(log_softmax(scores))[0]
    assert result.activation[r, c] == pytest.approx(net.activations["relu5"][0, result.channel].sum())
    assert result.prob_true[r, c] == pytest.approx(probs[2])
    assert result.top_class[r, c] == probs.argmax()


def test_occluded_images_cover_the_grid():
    image = np.zeros((3, 8, 8), dtype=np.uint8)
    batch, rows, cols = occluded_images(image, 3, 2, fill=(9, 9, 9))
    assert list(rows) == [0, 2, 4] and list(cols) == [0, 2, 4] and len(batch) == 9
    assert (batch[4, :, 2:5, 2:5] == 9).all() and batch[4].sum() == 9 * 27


@pytest.mark.parametrize("kind,identity", [("translate", 0), ("scale", 1.0), ("rotate", 0)])
def test_no_transformation_gives_distance_zero(setup, kind, identity):
    net, images, mean = setup
    result = analysis.invariance(net, images[:2], [0, 1], mean, kind, [identity, 3 if kind != "scale" else 1.5],
                                 layers=("pool1", "relu7"))
    for layer in ("pool1", "relu7"):
        np.testing.assert_allclose(result.distances[layer][:, 0], 0.0, atol=1e-12)
        assert (result.distances[layer][:, 1] > 0).all()


def test_translation_moves_the_image_down():
    image = np.zeros((3, 6, 6), dtype=np.uint8)
    image[:, 0] = 200
    moved = analysis.transform(image, "translate", 2, fill=(7, 7, 7))
    assert (moved[:, 2] == 200).all() and (moved[:, :2] == 7).all()


def test_hamming_delta():
    eps = np.random.default_rng(0).standard_normal((5, 40))
    assert hamming_delta(np.stack([eps[0]] * 5)) == 0.0                  # identical changes
    flipped = np.stack([eps[0], -eps[0]])
    assert hamming_delta(flipped) == 1.0                                  # opposite everywhere
    half = eps[0].copy()
    half[:20] *= -1
    assert hamming_delta(np.stack([eps[0], half])) == 0.5


def test_correspondence_on_identical_images_is_zero(setup):
    net, images, mean = setup
    same = np.repeat(images[:1], 4, axis=0)
    boxes = {"part": np.array([[4, 4, 3, 3]] * 4)}
    result = analysis.correspondence(net, same, boxes, mean, layers=("relu5", "relu7"), random_trials=2)
    assert result.parts["part"] == {"relu5": 0.0, "relu7": 0.0}
    assert set(result.random) == {"relu5", "relu7"}
    assert (occlude_box(images[0], (1, 2, 3, 4), (5, 5, 5))[:, 1:4, 2:6] == 5).all()


def test_filter_statistics():
    yy, xx = np.mgrid[0:7, 0:7]
    smooth = np.broadcast_to(np.cos(2 * np.pi * xx / 28.0), (3, 7, 7))      # low frequency
    checker = np.broadcast_to((-1.0) ** (xx + yy), (3, 7, 7))               # the highest frequency
    W = np.stack([smooth, checker, 1e-4 * checker, checker])
    shares = band_energy(W)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert shares[0].argmax() == 0 and shares[1].argmax() == 2
    assert list(dead_filters(W)) == [False, False, True, False]
    stats = analysis.filter_stats(W)
    assert stats["dead"] == 1 and stats["filters"] == 4


def test_evolution_shapes(setup):
    net, images, mean = setup
    epochs, rows = analysis.evolution([(1, net, mean), (5, tiny_net(), mean)], images[:6],
                                      [("conv1", 0), ("pool1", 2)])
    assert list(epochs) == [1, 5] and rows[0].shape == (2, 3, 3, 3) and rows[1].shape[0] == 2


def test_pool_to_grid_averages_each_block():
    maps = np.random.default_rng(5).standard_normal((2, 3, 8, 12))
    pooled = analysis.pool_to_grid(maps, 4)
    for r in range(4):
        for c in range(4):
            block = maps[:, :, 2 * r:2 * r + 2, 3 * c:3 * c + 3]
            np.testing.assert_allclose(pooled[:, :, r, c], block.mean(axis=(2, 3)), rtol=1e-12)
    with pytest.raises(ValueError, match="5x5 grid"):
        analysis.pool_to_grid(maps, 5)


def test_layer_features_are_the_pooled_activations_of_each_layer(setup):
    net, images, mean = setup
    features = analysis.layer_features(net, images, mean, ["relu1", "relu7"], grid=4, batch_size=7)
    x = normalize(images, mean)
    relu1 = net.forward(x, upto="relu1")                                          # (23, 4, 16, 16)
    blocks = relu1.reshape(23, 4, 4, 4, 4, 4).mean(axis=(3, 5)).reshape(23, -1)   # 4x4 blocks of 4x4
    np.testing.assert_allclose(features["relu1"], blocks, rtol=1e-10)
    np.testing.assert_allclose(features["relu7"], net.forward(x, upto="relu7"), rtol=1e-10)


def test_linear_probe_separates_separable_classes_and_not_random_labels():
    rng = np.random.default_rng(6)
    centres = 4 * rng.standard_normal((3, 20))
    labels = rng.integers(0, 3, 600)
    x = (centres[labels] + rng.standard_normal((600, 20))).astype(np.float32)
    good = analysis.linear_probe(x[:400], labels[:400], x[400:], labels[400:], 3, epochs=10)
    assert good.test_accuracy > 0.95 and good.losses[-1] < good.losses[0]
    shuffled = rng.permutation(labels)          # labels unrelated to the features
    chance = analysis.linear_probe(x[:400], shuffled[:400], x[400:], shuffled[400:], 3, epochs=10)
    assert chance.test_accuracy < 0.5


# ---- Table 3: ablations
def _layer_names(net):
    return [name for name, _ in net]


def test_every_ablation_variant_makes_the_change_it_names():
    from minizf import models
    full = models.zf_small()
    nets = {key: models.zf_small(**options) for key, _, options in analysis.variants()}
    assert [key for key, _, _ in analysis.variants()][0] == "full"
    assert _layer_names(nets["full"]) == _layer_names(full)
    assert "fc7" not in _layer_names(nets["no-7"]) and "fc6" in _layer_names(nets["no-7"])
    assert not {"fc6", "fc7"} & set(_layer_names(nets["no-6-7"]))
    assert not {"conv3", "conv4"} & set(_layer_names(nets["no-3-4"]))
    assert not {"conv3", "conv4", "fc6", "fc7"} & set(_layer_names(nets["no-3-4-6-7"]))
    assert nets["fc-half"]["fc6"].out_features == 256 and nets["fc-double"]["fc7"].out_features == 1024
    assert [nets["wide-conv"][f"conv{i}"].out_channels for i in (3, 4, 5)] == [256, 512, 256]
    assert nets["wide-conv-fc"]["fc6"].out_features == 1024
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    for key, net in nets.items():
        assert net.forward(x).shape == (2, 10), key


def test_unknown_ablation_variants_are_named():
    with pytest.raises(ValueError, match="no-5"):
        analysis.variants(["full", "no-5"])
    assert [key for key, _, _ in analysis.variants(["no-7", "full"])] == ["full", "no-7"]   # paper's order


def test_ablation_trains_each_variant_and_resumes(tmp_path):
    from minizf import models
    from minizf.data import ArrayDataset
    from minizf.train import TrainConfig
    rng = np.random.default_rng(0)
    train = ArrayDataset(rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 40),
                         [str(c) for c in range(10)])
    val = train.subset(range(16))
    config = TrainConfig(epochs=1, batch_size=20, snapshots=())
    results = analysis.ablation(train, val, config, tmp_path, keys=["full", "no-6-7"], progress=False,
                                log=lambda *_: None)
    assert [r.key for r in results] == ["full", "no-6-7"]
    assert results[1].parameters == models.parameter_count(models.zf_small(drop=(6, 7)))
    assert results[1].parameters < results[0].parameters
    for r in results:
        assert 0.0 <= r.train_error <= 1.0 and 0.0 <= r.val_error <= 1.0 and len(r.history) == 1
        assert (tmp_path / r.key / "model.npz").exists()
    # The same call again reuses the trained variants (no new checkpoint); a longer schedule extends them.
    written = (tmp_path / "full" / "checkpoint.npz").stat().st_mtime_ns
    again = analysis.ablation(train, val, config, tmp_path, keys=["full"], progress=False, log=lambda *_: None)
    assert again[0].history == results[0].history and again[0].val_error == results[0].val_error
    assert (tmp_path / "full" / "checkpoint.npz").stat().st_mtime_ns == written
    longer = analysis.ablation(train, val, TrainConfig(epochs=2, batch_size=20, snapshots=()), tmp_path,
                               keys=["full"], progress=False, log=lambda *_: None)
    assert [row["epoch"] for row in longer[0].history] == [1, 2]


# ---- Tables 4-5, Fig. 9: transfer to few images per class
def test_few_shot_split_takes_per_class_images_and_tests_on_others():
    from minizf.analysis import few_shot_split
    labels = np.repeat([0, 1, 2], [10, 6, 30])
    train, test = few_shot_split(labels, 4, 5, np.random.default_rng(0))
    assert not set(train) & set(test)
    assert np.bincount(labels[train]).tolist() == [4, 4, 4]
    assert np.bincount(labels[test]).tolist() == [5, 2, 5]          # class 1 has only 2 left
    other, _ = few_shot_split(labels, 4, 5, np.random.default_rng(1))
    assert set(other) != set(train)
    with pytest.raises(ValueError, match="class 1 has 6 images"):
        few_shot_split(labels, 6, 5, np.random.default_rng(0))


def test_mean_class_accuracy_weighs_every_class_alike():
    from minizf.analysis import mean_class_accuracy
    labels = np.array([0, 0, 0, 0, 1, 2, 2])
    predictions = np.array([0, 0, 0, 1, 0, 2, 1])
    per_class = [np.mean([p == c for p, l in zip(predictions, labels) if l == c]) for c in (0, 1, 2)]
    assert mean_class_accuracy(labels, predictions) == pytest.approx(sum(per_class) / 3)   # 0.75, 0, 0.5
    assert mean_class_accuracy(labels, predictions) != pytest.approx(np.mean(predictions == labels))


def test_transfer_learns_separable_classes_and_not_shuffled_labels():
    from minizf.data import ArrayDataset
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 30)
    images = rng.integers(0, 60, (90, 3, 16, 16)).astype(np.uint8)
    for c in range(3):
        images[labels == c, c] += 150                                # class c: channel c bright
    mean = images.mean(axis=0).astype(np.float64) / 255
    separable = ArrayDataset(images, labels, ["r", "g", "b"])
    results = analysis.transfer(tiny_net(), mean, separable, per_class=(3, 10), test_per_class=10, folds=2, layer="relu5",
                                probe_epochs=40, log=lambda *_: None)
    assert [r.per_class for r in results] == [3, 10]
    assert all(r.scratch is None and len(r.pretrained) == 2 for r in results)
    assert min(results[1].pretrained) > 0.9
    shuffled = ArrayDataset(images, rng.permutation(labels), ["r", "g", "b"])
    noise = analysis.transfer(tiny_net(), mean, shuffled, per_class=(10,), test_per_class=10, folds=3, layer="relu5",
                              probe_epochs=40, log=lambda *_: None)
    assert np.mean(noise[0].pretrained) < 0.65


def test_scratch_folds_every_first_n_or_listed():
    from minizf.analysis.transfer import _scratch_fold
    assert [_scratch_fold(f, None) for f in range(4)] == [True] * 4
    assert [_scratch_fold(f, 2) for f in range(4)] == [True, True, False, False]
    assert [_scratch_fold(f, {2, 3}) for f in range(4)] == [False, False, True, True]


def _slow_high_share(filt, cutoff=0.25):
    """The high-frequency share of one filter (C, kh, kw) by an explicit DFT, bin by bin."""
    c, kh, kw = filt.shape
    high = total = 0.0
    for ch in range(c):
        a = filt[ch] - filt[ch].mean()
        for u in range(kh):
            for v in range(kw):
                coef = sum(a[y, x] * np.exp(-2j * np.pi * (u * y / kh + v * x / kw))
                           for y in range(kh) for x in range(kw))
                fu, fv = (u if u <= kh // 2 else u - kh) / kh, (v if v <= kw // 2 else v - kw) / kw
                total += abs(coef) ** 2
                high += abs(coef) ** 2 if np.hypot(fu, fv) > cutoff else 0.0
    return high / total


def test_high_frequency_share_against_a_bin_by_bin_dft():
    from minizf.analysis import high_frequency_share
    W = np.random.default_rng(0).standard_normal((3, 3, 7, 7))
    W[1] = np.broadcast_to(np.cos(2 * np.pi * np.arange(7) / 7.0), (3, 7, 7))     # 1/7 cycle per pixel: low
    np.testing.assert_allclose(high_frequency_share(W), [_slow_high_share(f) for f in W], rtol=1e-10, atol=1e-20)
    assert high_frequency_share(W)[1] < 1e-12


def test_white_noise_share_matches_the_average_of_many_noise_filters():
    from minizf.analysis import high_frequency_share, noise_high_frequency_share
    for kernel in [(7, 7), (11, 11), (5, 5)]:
        noise = np.random.default_rng(1).standard_normal((4000, 3, *kernel))
        assert high_frequency_share(noise).mean() == pytest.approx(noise_high_frequency_share(kernel), abs=0.01)
    assert noise_high_frequency_share((7, 7)) == pytest.approx(40 / 48)    # 8 of 48 non-mean bins lie within 1/4


def test_filter_quality_tells_trained_filters_from_noise():
    from minizf.analysis import filter_quality
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:7, 0:7] - 3.0
    angles = rng.uniform(0, np.pi, 32)
    edges = np.stack([np.broadcast_to(np.sin(0.6 * (xx * np.cos(a) + yy * np.sin(a))) * np.exp(-(xx ** 2 + yy ** 2)
                                                                                                 / 8), (3, 7, 7))
                      for a in angles])                                    # smooth oriented edges, as Fig. 6's
    noise = rng.standard_normal((32, 3, 7, 7))
    good, bad = filter_quality(edges), filter_quality(noise)
    assert good["trained"] is True and good["ratio"] < 0.5
    assert bad["trained"] is False and bad["ratio"] == pytest.approx(1.0, abs=0.1)
    assert filter_quality(noise[:, :, :3, :3])["trained"] is None       # 3x3: nothing lies below the cutoff
    # the correlation with the initial weights: 1 unmoved, about 0 for weights drawn anew, -1 flipped
    assert filter_quality(noise, noise)["init_correlation"] == pytest.approx(1.0)
    assert filter_quality(noise, -noise)["init_correlation"] == pytest.approx(-1.0)
    assert abs(filter_quality(noise, rng.standard_normal(noise.shape))["init_correlation"]) < 0.1
    assert filter_quality(noise)["init_correlation"] is None


def test_occluder_sizes_are_fractions_of_the_side():
    assert analysis.occluder_sizes(64) == [(8, 4), (13, 4), (21, 4)]
    assert analysis.occluder_sizes(32) == [(4, 2), (6, 2), (11, 2)]
    assert analysis.occluder_sizes(2) == [(1, 1)]                        # sizes that round together are one


def test_invariance_matches_folder_classes_to_the_model_by_name():
    from minizf.figures import model_labels
    folder = data.ArrayDataset(np.zeros((3, 3, 8, 8), np.uint8), np.array([0, 1, 1]), ["tench", "golf_ball"], "f")
    model = ["golf_ball", "parachute", "tench"]
    assert model_labels(folder, model).tolist() == [2, 0, 0]
    assert model_labels(folder, None) is None
    stranger = data.ArrayDataset(np.zeros((1, 3, 8, 8), np.uint8), np.array([0]), ["zebra"], "photos")
    with pytest.raises(ValueError, match="photos: the model does not know the classes zebra"):
        model_labels(stranger, model)


def test_scanned_networks_forget_their_last_batch(setup):
    # nine snapshots of a 224 px network each holding a batch's state were 2.7 GB: after a scan,
    # no layer keeps an input, switches or activations, and the network still answers
    net, images, mean = setup
    other = tiny_net()
    for scan in (lambda s: analysis.evolution(s, images[:6], [("conv1", 0), ("pool1", 2)]),
                 lambda s: analysis.response_similarity(s, images[:6], {"conv1": [0, 1]})):
        scan([(1, net, mean), (5, other, mean)])
        for n in (net, other):
            assert n.activations == {} and all(layer.x is None for _, layer in n)
            assert all(getattr(layer, "switches", None) is None for _, layer in n)
    with pytest.raises(RuntimeError, match="before forward"):
        net.backward(np.zeros((1, 3)))
    assert net.forward(images[:2].astype(np.float64)).shape[0] == 2
