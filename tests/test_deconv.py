"""The deconvnet, held against the forward/backward pieces it is built from."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minizf import LRN, Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential, models
from minizf.check import adjoint_check, numerical_gradient, tie_free_like
from minizf.deconv import Deconvnet, cut_patch, receptive_field, select_activations
from minizf.functional import conv2d, max_pool2d, relu, unpool

RULES = ["deconvnet", "gradient", "guided"]


def small_net(dtype=np.float64):
    """conv-relu-pool-lrn, conv-relu-pool, fc: a 12x12 ZF-shaped net."""
    net = Sequential([
        ("conv1", Conv2D(3, 4, 3, stride=1, pad=1)), ("relu1", ReLU()),
        ("pool1", MaxPool2D(3, 2, ceil_mode=True)), ("norm1", LRN(3, alpha=0.5, k=1.0)),
        ("conv2", Conv2D(4, 5, 3, pad=1)), ("relu2", ReLU()),
        ("pool2", MaxPool2D(3, 2, ceil_mode=True)),
        ("flatten", Flatten()), ("fc6", Linear(5 * 3 * 3, 6)), ("relu6", ReLU()), ("fc7", Linear(6, 4)),
    ], input_shape=(3, 12, 12)).astype(dtype)
    rng = np.random.default_rng(0)
    for _, p, _ in net.named_parameters():
        p[...] = 0.5 * rng.standard_normal(p.shape)
    return net


def image(shape=(2, 3, 12, 12), seed=1):
    return tie_free_like(shape, seed)


@pytest.mark.parametrize("layer", ["conv1", "relu1", "pool1", "norm1", "conv2", "relu2", "pool2"])
def test_gradient_rule_is_activation_times_its_input_gradient(layer):
    # Independent of backward: central differences of the chosen activation.
    net = small_net()
    x = image((1, 3, 12, 12))
    deconv = Deconvnet(net)
    projection = deconv.project(x, layer, channel=1, rule="gradient", lrn="backward")
    sel = deconv.selection
    i, j = sel.position[0]

    def activation():
        return float(net.forward(x, upto=layer)[0, 1, i, j])

    expected = sel.value[0] * numerical_gradient(activation, x)
    np.testing.assert_allclose(projection, expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("layer", ["fc6", "fc7"])
def test_gradient_rule_from_fully_connected_layers_equals_backward(layer):
    net = small_net()
    x = image()
    deconv = Deconvnet(net)
    projection = deconv.project(x, layer, channel=2, rule="gradient", lrn="backward")
    acts = net.forward(x, upto=layer)
    dy = np.zeros_like(acts)
    dy[:, 2] = acts[:, 2]
    np.testing.assert_allclose(projection, net.backward(dy), rtol=1e-12, atol=1e-14)


def linear_net():
    return Sequential([("conv1", Conv2D(2, 3, 3, stride=2, pad=1)), ("conv2", Conv2D(3, 4, 2)),
                       ("flatten", Flatten()), ("fc", Linear(4 * 3 * 3, 3))]).astype(np.float64)


@pytest.mark.parametrize("layer,shape", [("conv1", (1, 3, 4, 4)), ("conv2", (1, 4, 3, 3)), ("fc", (1, 3))])
def test_without_relu_and_pooling_the_rules_coincide_and_are_the_adjoint(layer, shape):
    net = linear_net()
    for _, lay in net:
        if "b" in lay.params:
            lay.params["b"][...] = 0.0          # the forward map must be linear
    x_shape = (1, 2, 8, 8)
    net.forward(np.zeros(x_shape), upto=layer)
    signal = np.random.default_rng(0).standard_normal(shape)
    outs = [net.reverse(signal, layer, rule) for rule in RULES]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    err = adjoint_check(lambda v: net.forward(v, upto=layer), lambda s: net.reverse(s, layer),
                        x_shape, shape)
    assert err < 1e-14


@st.composite
def random_conv_net(draw):
    """Random conv/pool stacks with their input size, for the support property."""
    layers, channels, size = [], 2, draw(st.integers(12, 20))
    current = size
    for i in range(draw(st.integers(1, 3))):
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 2))
        p = draw(st.integers(0, k // 2))
        if current + 2 * p < k:
            break
        layers.append((f"conv{i}", Conv2D(channels, 3, k, s, p)))
        layers.append((f"relu{i}", ReLU()))
        current = (current + 2 * p - k) // s + 1
        channels = 3
        if draw(st.booleans()) and current >= 3:
            ceil = draw(st.booleans())
            layers.append((f"pool{i}", MaxPool2D(3, 2, ceil_mode=ceil)))
            current = MaxPool2D(3, 2, ceil_mode=ceil).output_shape((3, current, current))[1]
    if not layers:
        layers = [("conv0", Conv2D(2, 3, 3))]
    return Sequential(layers, input_shape=(2, size, size)).astype(np.float64), size


@settings(max_examples=30)
@given(random_conv_net(), st.sampled_from(RULES), st.integers(0, 10 ** 6))
def test_projection_is_zero_outside_the_receptive_field(net_and_size, rule, seed):
    net, size = net_and_size
    layer = net.names[-1]
    x = tie_free_like((1, 2, size, size), seed) + 0.1
    out_shape = net.output_shapes((2, size, size))[-1][1]
    rng = np.random.default_rng(seed)
    i, j = int(rng.integers(out_shape[1])), int(rng.integers(out_shape[2]))
    projection = Deconvnet(net).project(x, layer, channel=0, position=(i, j), rule=rule)
    top, bottom, left, right = receptive_field(net, layer).box(i, j)
    outside = projection.copy()
    outside[:, :, top:bottom, left:right] = 0.0
    assert not outside.any()


@pytest.mark.parametrize("rule", RULES)
def test_projection_scales_with_the_selected_activation(rule):
    net = small_net()
    x = image((1, 3, 12, 12))
    acts = net.forward(x, upto="conv2")
    a = np.zeros_like(acts)
    a[0, 1, 2, 2] = acts[0, 1, 2, 2]
    # Every rule is positively homogeneous (a ReLU of 3s is 3 times the ReLU of s).
    np.testing.assert_allclose(net.reverse(3.0 * a, "conv2", rule), 3.0 * net.reverse(a, "conv2", rule),
                               rtol=1e-12, atol=1e-16)


def test_projection_of_a_sum_is_the_sum_of_projections_with_the_gradient_rule():
    # The gradient rule is linear; the deconvnet rule rectifies the signal on the
    # way down, so it is additive only where the pieces agree in sign.
    net = small_net()
    x = image((1, 3, 12, 12))
    acts = net.forward(x, upto="conv2")
    a, b = np.zeros_like(acts), np.zeros_like(acts)
    a[0, 1, 2, 3], b[0, 3, 0, 1] = acts[0, 1, 2, 3], acts[0, 3, 0, 1]
    np.testing.assert_allclose(net.reverse(a + b, "conv2", "gradient"),
                               net.reverse(a, "conv2", "gradient") + net.reverse(b, "conv2", "gradient"),
                               rtol=1e-12, atol=1e-16)


def test_selected_activation_keeps_its_value_and_the_rest_is_zero():
    acts = np.random.default_rng(0).standard_normal((3, 4, 5, 5))
    signal, sel = select_activations(acts, [0, 2, 3])
    for k, c in enumerate([0, 2, 3]):
        i, j = sel.position[k]
        assert acts[k, c, i, j] == acts[k, c].max() == signal[k, c, i, j] == sel.value[k]
    assert np.count_nonzero(signal) == 3


def test_unpooling_uses_the_switches_of_each_image():
    net = small_net()
    x = image()                                    # two different images
    Deconvnet(net).project_many(x, "pool1", images=[1, 0, 1], channels=[0, 2, 3])
    pool = net["pool1"]
    # The switches each image gets from its own forward pass, computed apart.
    conv = net["conv1"].params
    rectified = relu(conv2d(x[[1, 0, 1]], conv["W"], conv["b"], 1, 1))
    _, expected = max_pool2d(rectified, 3, 2, 0, ceil_mode=True)
    np.testing.assert_array_equal(pool.switches, expected)
    signal = np.random.default_rng(2).standard_normal(pool.y_shape)
    np.testing.assert_array_equal(pool.reverse(signal), unpool(signal, expected, pool.x.shape))


def test_changing_non_maximal_inputs_leaves_the_pool_reverse_unchanged():
    rng = np.random.default_rng(3)
    x = tie_free_like((2, 3, 9, 9), 4)
    pool = MaxPool2D(3, 2, ceil_mode=True)
    pool.forward(x)
    signal = rng.standard_normal(pool.y_shape)
    before, switches = pool.reverse(signal), pool.switches.copy()
    winners = np.zeros(x.size, dtype=bool)
    planes = (np.arange(6) * 81).reshape(2, 3, 1, 1)
    winners[(switches + planes).ravel()] = True
    y = x.copy().reshape(-1)
    y[~winners] -= rng.uniform(0.0, 5.0, (~winners).sum())   # lower every loser: no switch moves
    pool.forward(y.reshape(x.shape))
    np.testing.assert_array_equal(pool.switches, switches)
    np.testing.assert_array_equal(pool.reverse(signal), before)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("lrn", ["skip", "backward"])
def test_batched_and_one_at_a_time_agree(rule, lrn):
    net = small_net()
    x = image((3, 3, 12, 12))
    images, channels = np.array([2, 0, 2, 1, 0]), np.array([1, 4, 3, 0, 4])
    positions = np.array([[0, 0], [1, 2], [2, 2], [1, 1], [0, 1]])
    deconv = Deconvnet(net)
    batched = deconv.project_many(x, "pool2", images, channels, positions, rule, lrn)
    for k in range(5):
        one = deconv.project(x[images[k]:images[k] + 1], "pool2", channels[k], tuple(positions[k]), rule, lrn)
        np.testing.assert_allclose(batched[k], one[0], rtol=1e-12, atol=1e-15)


def test_every_layer_rule_and_lrn_mode_of_the_small_model():
    net = models.zf_small()
    x = np.random.default_rng(4).random((2, 3, 32, 32)).astype(np.float32)
    deconv = Deconvnet(net)
    for layer in net.names:
        for rule in RULES:
            for lrn in ("skip", "backward"):
                p = deconv.project(x, layer, channel=0, rule=rule, lrn=lrn)
                assert p.shape == x.shape and p.dtype == np.float32 and np.isfinite(p).all()


def test_projection_from_every_layer_of_the_full_zf_model():
    net = models.zfnet(num_classes=10)
    x = np.random.default_rng(5).random((1, 3, 224, 224)).astype(np.float32)
    deconv = Deconvnet(net)
    combos = [(rule, lrn) for rule in RULES for lrn in ("skip", "backward")]
    for n, layer in enumerate(net.names):                 # every layer, the six combinations in turn
        rule, lrn = combos[n % len(combos)]
        p = deconv.project(x, layer, channel=1, rule=rule, lrn=lrn)
        assert p.shape == x.shape and np.isfinite(p).all(), (layer, rule, lrn)
        assert np.abs(p).max() > 0 or deconv.selection.value[0] <= 0, (layer, rule, lrn)


# ZF Fig. 3 and Krizhevsky: size = 1 + sum (k_i - 1) * J_{i-1}, computed by hand.
ZF_FIELDS = {"conv1": 7, "pool1": 11, "conv2": 27, "pool2": 43, "conv3": 75, "conv4": 107,
             "conv5": 139, "pool5": 171}
KRIZHEVSKY_FIELDS = {"conv1": 11, "pool1": 19, "conv2": 51, "pool2": 67, "conv5": 163, "pool5": 195}


def test_receptive_fields_of_the_zf_model():
    net = models.zfnet()
    for layer, size in ZF_FIELDS.items():
        rf = receptive_field(net, layer)
        assert rf.size == (size, size), layer
        top, bottom, left, right = rf.box(0, 0, clip=False)
        assert bottom - top == size and right - left == size
    # conv1 unit (0, 0) reads rows -1..5 (pad 1); pool1 unit (1, 1) starts at 2*2*1 - 1 = 3.
    assert receptive_field(net, "conv1").box(0, 0, clip=False) == (-1, 6, -1, 6)
    assert receptive_field(net, "pool1").box(1, 1, clip=False) == (3, 14, 3, 14)
    assert receptive_field(net, "conv1").box(0, 0) == (0, 6, 0, 6)


def test_receptive_fields_of_the_krizhevsky_model():
    net = models.krizhevsky_net()
    for layer, size in KRIZHEVSKY_FIELDS.items():
        assert receptive_field(net, layer).size == (size, size), layer
    assert receptive_field(net, "conv1").box(54, 54) == (216, 227, 216, 227)


def test_patches_at_the_border_are_filled_to_full_size():
    net = models.zfnet()
    rf = receptive_field(net, "conv5")
    img = np.ones((3, 224, 224), dtype=np.float32)
    patch = cut_patch(img, rf, 0, 0)
    assert patch.shape == (3, 139, 139)
    assert patch[:, :49].sum() == 0 and patch[:, 49:, 49:].min() == 1.0


def test_receptive_field_of_a_fully_connected_layer_is_refused():
    with pytest.raises(ValueError, match="whole image"):
        receptive_field(models.zf_small(), "fc6")


def test_a_fractional_channel_is_refused_not_truncated():
    import minizf as mz
    net = mz.Sequential([("conv1", mz.Conv2D(1, 4, 3)), ("relu1", mz.ReLU())])
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6)).astype(np.float32)
    with pytest.raises(TypeError, match="channels must be whole numbers, got \\[2.7\\]"):
        Deconvnet(net).project(x, "relu1", 2.7)


def test_the_deconvnet_is_at_the_packages_top_level():
    import minizf as mz
    from minizf.deconv import Deconvnet
    assert mz.Deconvnet is Deconvnet
