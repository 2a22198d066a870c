"""The deconv assignment's tests: the reverse rules, unpooling, the transposed convolution,
receptive boxes, and a projection through a small net with the student's maps."""
import numpy as np

from ... import functional as F
from ..compare import adjoint, as_array, close, equal
from ..outcome import Test
from .common import REAL_LAYER, REAL_LAYER_TEXT, at_scale_test, col2im_overwrite, real_layer
from .conv import CONV_CASES
from .pool import POOL_CASES, _unpool_test


RULES = ("deconvnet", "gradient", "guided")


def _reverse_rule_test(rule):
    def run(st, rng):
        x = rng.standard_normal((3, 2, 4, 4))
        x[0, 0, 0, :2] = 0.0                                   # the kink: x = 0 passes nothing back
        signal = rng.standard_normal(x.shape)
        x[0, 0, 1, :2], signal[0, 0, 1, :2] = [-1.0, 2.0], [3.0, -4.0]   # tells the three rules apart
        answers = {r: F.relu_reverse(signal, x, r) for r in RULES}
        close(f"relu_reverse(signal, x, {rule!r})", st.relu_reverse(signal, x, rule), answers[rule], decoys=[
            (answers[other], f"that is the {other!r} rule") for other in RULES if other != rule])
        return f"equals the {rule!r} rule"
    return Test(f"relu_reverse, rule {rule!r}", 1, ("relu_reverse",), run)


def _transpose_conv_test(case):
    name, shape, f, k, s, p = case

    def run(st, rng):
        kh, kw = F.pair(k)
        x, W = rng.standard_normal(shape), rng.standard_normal((f, shape[1], kh, kw))
        dy = rng.standard_normal(F.conv2d(x, W, None, s, p).shape)
        got = st.conv2d_backward_input(dy, W, shape, s, p)
        drows = dy.transpose(0, 2, 3, 1).reshape(-1, f) @ F.filter_matrix(W)
        close("conv2d_backward_input", got, F.conv2d_backward_input(dy, W, shape, s, p), decoys=[
            (lambda: F.conv2d_backward_input(dy, W[:, :, ::-1, ::-1].copy(), shape, s, p),
             "flipped filters: the transpose of a cross-correlation spreads each value back over its "
             "window with the filter as it is"),
            (lambda: col2im_overwrite(drows, shape, k, s, p), "overlapping windows must ADD; yours overwrites")])
        y = F.conv2d(x, W, None, s, p)
        adjoint("yours vs minizf's conv2d", y, dy, x, got)
        return "equals the reference, and <conv2d(x), y> = <x, yours(y)>"
    return Test(f"conv2d_backward_input, {name}", 2, ("conv2d_backward_input",), run)


BOX_CASES = [
    # name, windows along one axis (kernel, stride, pad), units of the last layer
    ("the ZF model's conv1-pool1-conv2 (7/2 pad 1, 3/2, 5/2)", [(7, 2, 1), (3, 2, 0), (5, 2, 0)], 6),
    ("conv 3x3 pad 1 twice, pool 2/2 between (padding read at the edges)", [(3, 1, 1), (2, 2, 0), (3, 1, 1)], 5),
    ("one layer, kernel 4 stride 3 pad 2", [(4, 3, 2)], 4),
]


def _boxes_test(case):
    name, windows, size = case

    def run(st, rng):
        expected = F.receptive_boxes(windows, size)
        got = as_array("receptive_boxes", st.receptive_boxes(windows, size), expected.shape)
        equal("boxes", got, expected, decoys=[
            (F.receptive_boxes([(k, s, 0) for k, s, _ in windows], size),
             "padding shifts every box: a layer's output a starts at input a*s - p"),
            (np.clip(expected, 0, None), "boxes are not clipped at 0: padding pixels count")])
        return "every unit's [start, end) equals the reference"
    return Test(f"receptive_boxes, {name}", 1, ("receptive_boxes",), run)


def _small_net():
    from ...layers import Conv2D, MaxPool2D, ReLU
    from ...net import Sequential
    rng = np.random.default_rng(5)
    net = Sequential([("conv1", Conv2D(3, 4, 3, pad=1, rng=rng)), ("relu1", ReLU()), ("pool1", MaxPool2D(3, 2)),
                      ("conv2", Conv2D(4, 5, 3, pad=1, rng=rng)), ("relu2", ReLU()), ("pool2", MaxPool2D(2, 2))])
    return net.astype(np.float64)


def _projection_test(rule):
    def run(st, rng):
        from ...deconv import Deconvnet, select_activations
        net = _small_net()
        x = rng.standard_normal((2, 3, 11, 11))
        channel = int(rng.integers(5))
        expected = Deconvnet(net).project(x, "pool2", channel, rule=rule)
        net.forward(x, keep=True)
        acts = net.activations["pool2"]        # keep the map's strongest activation, as project does
        signal, _ = select_activations(acts, np.full(len(acts), channel))
        for name in reversed(net.names):       # down to pixels with the student's maps
            layer = net[name]
            if name.startswith("pool"):
                signal = st.unpool(signal, layer.switches, layer.x.shape)
            elif name.startswith("relu"):
                signal = st.relu_reverse(signal, layer.x, rule)
            else:
                signal = st.conv2d_backward_input(signal, layer.params["W"], layer.x.shape, layer.stride, layer.pad)
            signal = as_array(f"the signal after {name}", signal, layer.x.shape)
        close(f"projection ({rule})", signal, expected)
        return "the strongest pool2 activation projected to pixels with your maps equals minizf's deconvnet"
    return Test(f"projection through conv-relu-pool x2, rule {rule!r}", 2,
                ("relu_reverse", "unpool", "conv2d_backward_input"), run)


def _real_transpose(rng):
    x, W, dy = real_layer(rng)
    args = (dy, W, x.shape, 1, REAL_LAYER[3])
    return args, {"conv2d_backward_input": F.conv2d_backward_input(*args)}, \
        {"conv2d_backward_input": W.shape[0] * W.shape[2] * W.shape[3]}


DECONV = ([_reverse_rule_test(r) for r in RULES] + [_unpool_test(POOL_CASES[1], "unpool")]
          + [_transpose_conv_test(c) for c in CONV_CASES[:2]] + [_boxes_test(c) for c in BOX_CASES]
          + [_projection_test(r) for r in RULES]
          + [at_scale_test("conv2d_backward_input", REAL_LAYER_TEXT, 1, _real_transpose)])
