"""The graded tests of every assignment, each chosen to expose a classic bug.

A test calls the student's functions (``s.conv2d(...)``, run in the sandbox)
on inputs drawn from ``rng``, computes the answer with ``minizf.functional``
here in the grader, and compares. Gradients are checked against the reference
backward *and* against float64 central differences of the reference forward,
with a random upstream gradient. Linear maps are checked by their adjoint
identity on the student's own pair. Decoys (what a known bug computes) turn
a failure into a hint.
"""
import numpy as np

from .. import functional as F
from ..check import numerical_gradient, tie_free_like
from .compare import adjoint, as_array, close, equal
from .grader import Fail, Test


def _numeric(f, x):
    """Central differences of the scalar f() with respect to x (perturbed in place), float64."""
    return numerical_gradient(f, x, eps=1e-5)


def _tie_free(shape, rng):
    """Distinct values in about [-2, 2] (no ties for max-pooling, no zeros for ReLU)."""
    return 2 * tie_free_like(shape, seed=int(rng.integers(2**31)))


def _windows(x_shape, kernel, stride, pad):
    """[(n, r, c, rows, cols)] of every window of a conv/pool, in padded coordinates."""
    (oh, ow), (kh, kw), (sh, sw), _ = F.window_grid(x_shape, kernel, stride, pad)
    return [(n, r, c, slice(r * sh, r * sh + kh), slice(c * sw, c * sw + kw))
            for n in range(x_shape[0]) for r in range(oh) for c in range(ow)]


def col2im_overwrite(cols, x_shape, kernel, stride, pad):
    """The classic col2im bug: each window *assigns* its entries, the last window wins."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = F.pair(kernel), F.pair(pad)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for k, (n, _, _, rows, cols_) in enumerate(_windows(x_shape, kernel, stride, pad)):
        out[n, :, rows, cols_] = cols[k].reshape(kh, kw, C).transpose(2, 0, 1)
    return out[:, :, ph:ph + H, pw:pw + W]


# ---- conv -----------------------------------------------------------------------------------

CONV_CASES = [
    # name, x shape, filters, kernel, stride, pad
    ("3x3 stride 1 pad 1 (overlapping windows, padded)", (2, 3, 7, 7), 4, 3, 1, 1),
    ("3x2 kernel, stride (2, 1), pad (1, 0) (overlapping, not square)", (2, 2, 9, 8), 3, (3, 2), (2, 1), (1, 0)),
    ("2x2 stride 2 (no overlap)", (1, 4, 6, 6), 2, 2, 2, 0),
    ("5x5 stride 3 pad 2", (2, 2, 11, 10), 3, 5, 3, 2),
]


def _channel_first(rows, C, kernel):
    """im2col's rows listed channel first (CS231n's order) instead of pixel by pixel."""
    kh, kw = F.pair(kernel)
    return rows.reshape(-1, kh, kw, C).transpose(0, 3, 1, 2).reshape(rows.shape[0], -1)


def _im2col_test(case):
    name, shape, _, k, s, p = case

    def run(st, rng):
        x = rng.standard_normal(shape)
        rows = F.im2col(x, k, s, p)
        close("im2col(x)", st.im2col(x, k, s, p), rows, decoys=[
            (lambda: _channel_first(rows, shape[1], k), "rows are in CS231n's channel-first order; minizf lists "
             "each window pixel by pixel, the channels of a pixel together: entry (i*kw + j)*C + ch")])
        return "rows equal the reference"
    return Test(f"im2col, {name}", 1, ("im2col",), run)


def _col2im_test(case):
    name, shape, _, k, s, p = case

    def run(st, rng):
        x = np.zeros(shape)
        cols = rng.standard_normal(F.im2col(x, k, s, p).shape)
        close("col2im(cols)", st.col2im(cols, shape, k, s, p), F.col2im(cols, shape, k, s, p), decoys=[
            (lambda: col2im_overwrite(cols, shape, k, s, p),
             "where windows overlap col2im must ADD the entries of a pixel; yours keeps only one")])
        return "image equals the reference (overlaps added)"
    return Test(f"col2im, {name}", 1, ("col2im",), run)


def _im2col_adjoint_test(case):
    name, shape, _, k, s, p = case

    def run(st, rng):
        x = rng.standard_normal(shape)
        rows = as_array("im2col(x)", st.im2col(x, k, s, p), F.im2col(x, k, s, p).shape)
        c = rng.standard_normal(rows.shape)
        back = as_array("col2im(c)", st.col2im(c, shape, k, s, p), shape)
        lhs, rhs = float((rows * c).sum()), float((x * back).sum())
        err = adjoint("your col2im vs your im2col", lhs, rhs, np.linalg.norm(rows) * np.linalg.norm(c)
                      + np.linalg.norm(x) * np.linalg.norm(back))
        return f"<im2col(x), c> = <x, col2im(c)> (relative difference {err:.0e})"
    return Test(f"col2im is the transpose of im2col, {name}", 1, ("im2col", "col2im"), run)


def _conv_forward_test(case):
    name, shape, f, k, s, p = case

    def run(st, rng):
        kh, kw = F.pair(k)
        x, W, b = rng.standard_normal(shape), rng.standard_normal((f, shape[1], kh, kw)), rng.standard_normal(f)
        close("conv2d(x, W, b)", st.conv2d(x, W, b, s, p), F.conv2d(x, W, b, s, p), decoys=[
            (lambda: F.conv2d(x, W[:, :, ::-1, ::-1].copy(), b, s, p),
             "the filters are flipped: conv2d is a cross-correlation, as in every deep-learning library"),
            (lambda: F.conv2d(x, W, None, s, p), "the bias b is not added")])
        return "output equals the reference"
    return Test(f"conv2d forward, {name}", 1, ("conv2d",), run)


def _conv_backward_test(case, numeric):
    name, shape, f, k, s, p = case

    def run(st, rng):
        kh, kw = F.pair(k)
        x, W, b = rng.standard_normal(shape), rng.standard_normal((f, shape[1], kh, kw)), rng.standard_normal(f)
        dy = rng.standard_normal(F.conv2d(x, W, b, s, p).shape)
        got = st.conv2d_backward(dy, x, W, s, p)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Fail(f"conv2d_backward returned {type(got).__name__}, expected a tuple (dx, dW, db)")
        dx, dW, db = F.conv2d_backward(dy, x, W, s, p)
        drows = dy.transpose(0, 2, 3, 1).reshape(-1, f) @ F.filter_matrix(W)    # im2col's row order
        close("dx", got[0], dx, decoys=[
            (lambda: F.conv2d_backward_input(dy, W[:, :, ::-1, ::-1].copy(), shape, s, p),
             "dx uses flipped filters; the transpose of a cross-correlation uses them unflipped, "
             "spread back over each window"),
            (lambda: col2im_overwrite(drows, shape, k, s, p),
             "overlapping windows must ADD into dx; yours overwrites")])
        close("dW", got[1], dW, decoys=[(dW / shape[0], "dW is averaged over the batch: it is a sum")])
        close("db", got[2], db, decoys=[(db / shape[0], "db is averaged over the batch: it is a sum"),
                                        (db / (dy.size // f), "db is a mean; it is the sum of dy")])
        if not numeric:
            return "dx, dW, db equal the reference"
        for what, array, answer in (("dx", x, got[0]), ("dW", W, got[1]), ("db", b, got[2])):
            close(f"{what} vs central differences", answer,
                  _numeric(lambda: float((F.conv2d(x, W, b, s, p) * dy).sum()), array), tol=1e-5)
        return "dx, dW, db equal the reference and float64 central differences (random dy)"
    return Test(f"conv2d_backward, {name}", 2, ("conv2d_backward",), run)


def _conv_adjoint_test(case):
    name, shape, f, k, s, p = case

    def run(st, rng):
        kh, kw = F.pair(k)
        x, W = rng.standard_normal(shape), rng.standard_normal((f, shape[1], kh, kw))
        y_shape = F.conv2d(x, W, None, s, p).shape
        y = as_array("conv2d(x, W)", st.conv2d(x, W, None, s, p), y_shape)
        dy = rng.standard_normal(y_shape)
        got = st.conv2d_backward(dy, x, W, s, p)
        dx, dW = as_array("dx", got[0], shape), as_array("dW", got[1], W.shape)
        inner = float((y * dy).sum())
        # y is linear in x for fixed W and linear in W for fixed x: both transposes must match.
        adjoint("dx (the transposed convolution) vs your conv2d", inner, float((x * dx).sum()),
                np.linalg.norm(y) * np.linalg.norm(dy) + np.linalg.norm(x) * np.linalg.norm(dx))
        adjoint("dW vs your conv2d", inner, float((W * dW).sum()),
                np.linalg.norm(y) * np.linalg.norm(dy) + np.linalg.norm(W) * np.linalg.norm(dW))
        return "<conv2d(x, W), dy> = <x, dx> = <W, dW> for your own conv2d and conv2d_backward"
    return Test(f"conv2d_backward is the transpose of conv2d, {name}", 1, ("conv2d", "conv2d_backward"), run)


def _conv_no_input_grad(st, rng):
    x, W = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    dy = rng.standard_normal((2, 2, 3, 3))
    got = st.conv2d_backward(dy, x, W, 1, 0, input_grad=False)
    if not isinstance(got, (tuple, list)) or len(got) != 3 or got[0] is not None:
        raise Fail("conv2d_backward(..., input_grad=False) must return (None, dW, db)")
    _, dW, db = F.conv2d_backward(dy, x, W, 1, 0)
    close("dW", got[1], dW)
    close("db", got[2], db)
    return "(None, dW, db) with the right dW, db"


CONV = ([_im2col_test(c) for c in CONV_CASES] + [_col2im_test(c) for c in CONV_CASES]
        + [_im2col_adjoint_test(c) for c in CONV_CASES[:2]] + [_conv_forward_test(c) for c in CONV_CASES]
        + [_conv_backward_test(c, numeric=i < 2) for i, c in enumerate(CONV_CASES)]
        + [_conv_adjoint_test(c) for c in CONV_CASES[:2]]
        + [Test("conv2d_backward with input_grad=False", 1, ("conv2d_backward",), _conv_no_input_grad)])


# ---- pool -----------------------------------------------------------------------------------

POOL_CASES = [
    # name, x shape, kernel, stride, pad, ceil_mode
    ("2x2 stride 2", (2, 3, 6, 6), 2, None, 0, False),
    ("3x3 stride 2 (overlapping windows)", (2, 2, 7, 7), 3, 2, 0, False),
    ("3x3 stride 2, ceil mode on 6x6", (1, 2, 6, 6), 3, 2, 0, True),
    ("3x3 stride 2 pad 1, all inputs negative", (1, 2, 5, 6), 3, 2, 1, False),
    ("2x3 kernel, stride (1, 2), ceil mode", (1, 2, 5, 8), (2, 3), (1, 2), 0, True),
]


def _switch_decoys(x, k, s, p, ceil, switches):
    """Known wrong switch conventions: last maximum on ties, index in the window, padded plane."""
    H, W = x.shape[2:]
    (kh, kw), (sh, sw), (ph, pw) = F.pair(k), F.pair(k if s is None else s), F.pair(p)
    (oh, ow) = switches.shape[2:]
    flipped_y, flipped_s = F.max_pool2d(x[:, :, ::-1, ::-1].copy(), k, s, p, ceil) if (
        (H + 2 * ph - kh) % sh == 0 and (W + 2 * pw - kw) % sw == 0 and not ceil) else (None, None)
    decoys = []
    if flipped_s is not None:      # the mirror image's first maximum is this one's last
        rr, cc = np.divmod(flipped_s, W)
        last = ((H - 1 - rr) * W + (W - 1 - cc))[:, :, ::-1, ::-1]
        decoys.append((last, "on ties the FIRST maximum in row-major window order wins; yours takes the last"))
    r, c = np.divmod(switches, W)
    top = (np.arange(oh) * sh - ph).reshape(oh, 1)
    left = (np.arange(ow) * sw - pw).reshape(1, ow)
    decoys.append(((r - top) * kw + (c - left), "switches are positions h*W + w in the input plane, "
                   "not the index of the maximum inside its window"))
    decoys.append(((r + ph) * (W + 2 * pw) + (c + pw), "switches count positions in the unpadded input "
                   "(h*W + w with the input's W), not in the padded one"))
    return decoys


def _pool_input(shape, p, ties, rng):
    if ties:                                    # many equal maxima
        return rng.integers(0, 3, shape).astype(np.float64)
    x = _tie_free(shape, rng)
    return -1 - np.abs(x) if p else x           # padded cases: negative, so a zero pad would win


def _pool_forward_test(case, ties=False):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = _pool_input(shape, p, ties, rng)
        y, switches = F.max_pool2d(x, k, s, p, ceil)
        got = st.max_pool2d(x, k, s, p, ceil)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Fail(f"max_pool2d returned {type(got).__name__}, expected a tuple (y, switches)")
        if ceil and np.shape(got[0]) == F.max_pool2d(x, k, s, p, False)[0].shape != y.shape:
            raise Fail(f"y: shape {np.shape(got[0])}, expected {y.shape} -- hint: ceil_mode=True rounds the "
                       "output size up (output_size(..., ceil_mode) gives it); yours rounds down")
        close("y", got[0], y, decoys=[
            (lambda: F.max_pool2d(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), k, s, 0, ceil)[0] if p else None,
             "the padding took part in the maximum: pad with -inf, never zeros")])
        sw_ = as_array("switches", got[1], switches.shape)
        if sw_.dtype.kind not in "iu":
            if not np.array_equal(sw_, np.round(sw_)):
                raise Fail(f"switches: {sw_.dtype} values that are not whole numbers")
            sw_ = sw_.astype(np.int64)
        equal("switches", sw_, switches, decoys=_switch_decoys(x, k, s, p, ceil, switches))
        return "y and the switches equal the reference" + (" (with ties: first maximum)" if ties else "")
    label = "inputs with ties" if ties else "tie-free inputs"
    return Test(f"max_pool2d, {name}, {label}", 2 if ties else 1, ("max_pool2d",), run)


def _unpool_test(case, fn):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = _pool_input(shape, p, True, rng)          # ties: several windows share a switch
        y, switches = F.max_pool2d(x, k, s, p, ceil)
        signal = rng.standard_normal(y.shape)
        expected = F.unpool(signal, switches, shape)
        overwrite = np.zeros(shape)
        overwrite.reshape(shape[0], shape[1], -1)[np.arange(shape[0])[:, None, None],
                                                  np.arange(shape[1])[None, :, None],
                                                  switches.reshape(shape[0], shape[1], -1)] = \
            signal.reshape(shape[0], shape[1], -1)
        close(f"{fn}(signal, switches)", getattr(st, fn)(signal, switches, shape), expected, decoys=[
            (overwrite, "windows that share a switch must ADD their values; yours overwrites "
             "(a[idx] = v keeps one of repeated indices: np.add.at adds them all)")])
        return "equals the reference (values at shared switches added)"
    return Test(f"{fn}, {name}", 1, (fn,), run)


def _pool_adjoint_test(case):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = _tie_free(shape, rng)
        y_ref, sw_ref = F.max_pool2d(x, k, s, p, ceil)
        switches = as_array("switches", st.max_pool2d(x, k, s, p, ceil)[1], sw_ref.shape).astype(np.int64)
        if switches.min() < 0 or switches.max() >= shape[2] * shape[3]:
            raise Fail(f"switches: values outside [0, H*W) = [0, {shape[2] * shape[3]})")
        # With the switches frozen, pooling is the linear map "gather at the switches".
        z = rng.standard_normal(shape)
        gathered = np.take_along_axis(z.reshape(shape[0], shape[1], -1),
                                      switches.reshape(shape[0], shape[1], -1), axis=2).reshape(sw_ref.shape)
        signal = rng.standard_normal(sw_ref.shape)
        back = as_array("unpool", st.unpool(signal, switches, shape), shape)
        adjoint("your unpool vs pooling with your switches frozen", float((gathered * signal).sum()),
                float((z * back).sum()), np.linalg.norm(gathered) * np.linalg.norm(signal)
                + np.linalg.norm(z) * np.linalg.norm(back))
        return "<pool_s(z), g> = <z, unpool(g, s)> with your switches s frozen"
    return Test(f"unpool is the transpose of pooling with frozen switches, {name}", 1,
                ("max_pool2d", "unpool"), run)


def _pool_gradient_test(case):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = _tie_free(shape, rng)
        y, switches = F.max_pool2d(x, k, s, p, ceil)
        dy = rng.standard_normal(y.shape)
        got = st.max_pool2d_backward(dy, switches, shape)
        close("dx vs central differences", got,
              _numeric(lambda: float((F.max_pool2d(x, k, s, p, ceil)[0] * dy).sum()), x), tol=1e-5)
        return "dx equals float64 central differences (tie-free input, random dy)"
    return Test(f"max_pool2d_backward vs numerical gradient, {name}", 1, ("max_pool2d_backward",), run)


POOL = ([_pool_forward_test(c) for c in POOL_CASES] + [_pool_forward_test(c, ties=True) for c in POOL_CASES[:2]]
        + [_unpool_test(c, "unpool") for c in POOL_CASES[1:3]]
        + [_unpool_test(c, "max_pool2d_backward") for c in POOL_CASES[:2]]
        + [_pool_adjoint_test(POOL_CASES[1]), _pool_gradient_test(POOL_CASES[1]), _pool_gradient_test(POOL_CASES[3])])


# ---- lrn ------------------------------------------------------------------------------------

LRN_CASES = [
    # name, shape, size, alpha, beta, k, input scale
    ("size 5, the paper's constants", (2, 7, 3, 3), 5, 1e-4, 0.75, 2.0, 1.0),
    ("size 5, alpha 0.1, inputs of size 3 (large cross-channel terms)", (2, 7, 3, 3), 5, 0.1, 0.75, 1.0, 3.0),
    ("size 4 (even window)", (1, 6, 2, 3), 4, 0.2, 0.75, 1.0, 2.0),
    ("size 3, beta 0.5, tiny inputs (scale 0.03)", (2, 5, 2, 2), 3, 50.0, 0.5, 1.0, 0.03),
    ("size 7 on 4 channels (window wider than the channels)", (1, 4, 3, 3), 7, 0.05, 0.75, 2.0, 2.0),
]


def _lrn_mirrored(x, size, alpha, beta, k):
    """LRN with the window turned round: (size-1)//2 channels before, size//2 after."""
    s = k + alpha * F.window_sum(x * x, (size - 1) // 2, size // 2)
    return x * s ** -beta


def _lrn_forward_test(case):
    name, shape, size, alpha, beta, k, scale = case

    def run(st, rng):
        x = scale * rng.standard_normal(shape)
        close("lrn(x)", st.lrn(x, size, alpha, beta, k), F.lrn(x, size, alpha, beta, k), decoys=[
            (lambda: F.lrn(x, size, alpha / size, beta, k), "alpha is divided by size (Caffe's and "
             "PyTorch's convention); the paper's formula uses alpha as it is"),
            (lambda: _lrn_mirrored(x, size, alpha, beta, k) if size % 2 == 0 else None,
             "for an even size the window is size//2 channels before and (size-1)//2 after")])
        return "output equals the reference"
    return Test(f"lrn, {name}", 1, ("lrn",), run)


def _lrn_backward_test(case):
    name, shape, size, alpha, beta, k, scale = case

    def run(st, rng):
        x = scale * rng.standard_normal(shape)
        dy = rng.standard_normal(shape)
        got = st.lrn_backward(dy, x, size, alpha, beta, k)
        s = F.lrn_scale(x, size, alpha, k)
        y = x * s ** -beta
        close("dx", got, F.lrn_backward(dy, x, size, alpha, beta, k), decoys=[
            (dy * s ** -beta, "only the diagonal term: every output channel also depends on its "
             "neighbours' inputs (the cross-channel sum)"),
            (lambda: dy * s ** -beta - 2 * alpha * beta * x * F.window_sum(dy * y / s, size // 2, (size - 1) // 2)
             if size % 2 == 0 else None,
             "for an even size the cross-channel sum runs over the MIRRORED window: channel i lies "
             "in the windows of j in [i - (size-1)//2, i + size//2]")])
        close("dx vs central differences", got,
              _numeric(lambda: float((F.lrn(x, size, alpha, beta, k) * dy).sum()), x), tol=1e-5)
        return "dx equals the reference and float64 central differences (random dy)"
    return Test(f"lrn_backward, {name}", 2, ("lrn_backward",), run)


LRN = [_lrn_forward_test(c) for c in LRN_CASES] + [_lrn_backward_test(c) for c in LRN_CASES]


# ---- layers ---------------------------------------------------------------------------------

def _relu(st, rng):
    x = rng.standard_normal((3, 4, 5))
    x[0, 0, :3] = 0.0
    close("relu(x)", st.relu(x), np.maximum(x, 0))
    x4 = rng.standard_normal((2, 3, 4, 4))
    close("relu(x) on (N, C, H, W)", st.relu(x4), np.maximum(x4, 0))
    return "equals max(x, 0) on 3-D and 4-D inputs"


def _relu_backward(st, rng):
    x = rng.standard_normal((4, 6))
    x[:, 0] = 0.0                                  # exact zeros: the kink
    dy = rng.standard_normal((4, 6))
    close("dx", st.relu_backward(dy, x), dy * (x > 0), decoys=[
        (dy * (x >= 0), "at exactly x = 0 the gradient is 0 (x > 0, not x >= 0)"),
        (dy * (dy > 0), "the mask comes from the forward input x, not from dy")])
    return "dx = dy where x > 0, and 0 at x = 0"


def _dropout_test(p):
    def run(st, rng):
        x = rng.standard_normal((400, 500)) + 3.0           # no zeros: a dropped unit is visible
        seed = int(rng.integers(2**31))
        got = st.dropout(x, p, {"rng": seed})
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Fail(f"dropout returned {type(got).__name__}, expected a tuple (out, mask)")
        out, mask = as_array("out", got[0], x.shape), as_array("mask", got[1], x.shape)
        kept = float((mask != 0).mean())
        sigma = np.sqrt(p * (1 - p) / x.size)
        if abs(kept - (1 - p)) > 6 * sigma:
            hint = " -- hint: p is the probability to DROP" if abs(kept - p) <= 6 * sigma else ""
            raise Fail(f"mask keeps {kept:.4f} of the units, expected 1 - p = {1 - p:.4f}{hint}")
        values = np.unique(mask[mask != 0])
        if not np.allclose(values, 1 / (1 - p), rtol=1e-6):
            hint = " -- hint: scale kept units by 1 / (1 - p) (inverted dropout)" if np.allclose(values, 1) else ""
            raise Fail(f"kept mask values {values[:3]}, expected all 1 / (1 - p) = {1 / (1 - p):.6g}{hint}")
        close("out", out, x * mask)
        again = as_array("mask", st.dropout(x, p, {"rng": seed})[1], x.shape)
        if not np.array_equal(again, mask):
            raise Fail("the same seeded rng gave a different mask: draw from the rng argument")
        other = as_array("mask", st.dropout(x, p, {"rng": seed + 1})[1], x.shape)
        if np.array_equal(other, mask):
            raise Fail("a different rng gave the same mask: draw from the rng argument")
        return f"keeps {kept:.3f} (1 - p = {1 - p}), values 1/(1-p), out = x * mask, drawn from rng"
    return Test(f"dropout, p = {p}", 2, ("dropout",), run)


def _dropout_backward(st, rng):
    mask = (rng.random((5, 7)) >= 0.3) / 0.7
    dy = rng.standard_normal((5, 7))
    close("dx", st.dropout_backward(dy, mask), dy * mask)
    return "dx = dy * mask"


def _linear_forward(st, rng):
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    close("linear(x, W, b)", st.linear(x, W, b), x @ W.T + b,
          decoys=[(x @ W.T, "the bias b is not added")])
    return "y = x W^T + b"


def _linear_backward(st, rng):
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    dy = rng.standard_normal((5, 3))
    got = st.linear_backward(dy, x, W)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Fail(f"linear_backward returned {type(got).__name__}, expected a tuple (dx, dW, db)")
    close("dx", got[0], dy @ W)
    close("dW", got[1], dy.T @ x, decoys=[(dy.T @ x / 5, "dW is averaged over the batch: it is a sum")])
    close("db", got[2], dy.sum(axis=0), decoys=[(dy.mean(axis=0), "db is averaged over the batch: it is a sum")])
    for what, array, answer in (("dx", x, got[0]), ("dW", W, got[1]), ("db", b, got[2])):
        close(f"{what} vs central differences", answer,
              _numeric(lambda: float((F.linear(x, W, b) * dy).sum()), array), tol=1e-5)
    return "dx, dW, db equal the reference and float64 central differences"


def _softmax_forward(scale):
    def run(st, rng):
        scores = scale * rng.standard_normal((6, 5))
        labels = rng.integers(0, 5, 6)
        got = st.softmax_cross_entropy(scores, labels)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Fail(f"softmax_cross_entropy returned {type(got).__name__}, expected (loss, probs)")
        loss, probs = F.softmax_cross_entropy(scores, labels)
        value = as_array("loss", got[0], ())
        if not np.isfinite(value):
            try:
                p = np.asarray(got[1], dtype=np.float64)
            except (TypeError, ValueError):
                p = np.full(1, np.nan)
            sound = p.shape == probs.shape and np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1)
            hint = (" -- hint: a probability underflowed to 0 before its log: take log-probabilities as "
                    "z - log(sum(exp(z))) with z = scores - max" if sound else
                    " -- hint: subtract each row's maximum before exp (exp(1000) overflows)")
            raise Fail(f"loss is {float(value)}, expected {loss:.6g}{hint}")
        close("loss", value, loss, decoys=[(loss * 6, "the loss is the MEAN over the batch, not the sum")])
        close("probs", got[1], probs)
        return f"loss and probabilities equal the reference (scores of size {scale:g})"
    return Test(f"softmax_cross_entropy, scores of size {scale:g}", 2 if scale > 100 else 1,
                ("softmax_cross_entropy",), run)


def _softmax_backward(st, rng):
    scores, labels = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    _, probs = F.softmax_cross_entropy(scores, labels)
    got = st.softmax_cross_entropy_backward(probs, labels)
    expected = F.softmax_cross_entropy_backward(probs, labels)
    close("dscores", got, expected, decoys=[(expected * 6, "divide by N: the loss is the mean over the batch")])
    close("dscores vs central differences", got,
          _numeric(lambda: F.softmax_cross_entropy(scores, labels)[0], scores), tol=1e-5)
    return "(probs - onehot) / N, equal to float64 central differences"


LAYERS = [Test("relu", 1, ("relu",), _relu), Test("relu_backward, with x = 0 entries", 2, ("relu_backward",),
                                                  _relu_backward),
          _dropout_test(0.2), _dropout_test(0.7),
          Test("dropout_backward", 1, ("dropout_backward",), _dropout_backward),
          Test("linear", 1, ("linear",), _linear_forward),
          Test("linear_backward", 2, ("linear_backward",), _linear_backward),
          _softmax_forward(1.0), _softmax_forward(1000.0),
          Test("softmax_cross_entropy_backward", 2, ("softmax_cross_entropy_backward",), _softmax_backward)]



# ---- deconv ---------------------------------------------------------------------------------

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
        adjoint("yours vs minizf's conv2d", float((y * dy).sum()), float((x * got).sum()),
                np.linalg.norm(y) * np.linalg.norm(dy) + np.linalg.norm(x) * np.linalg.norm(got))
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
    from ..layers import Conv2D, MaxPool2D, ReLU
    from ..net import Sequential
    rng = np.random.default_rng(5)
    net = Sequential([("conv1", Conv2D(3, 4, 3, pad=1, rng=rng)), ("relu1", ReLU()), ("pool1", MaxPool2D(3, 2)),
                      ("conv2", Conv2D(4, 5, 3, pad=1, rng=rng)), ("relu2", ReLU()), ("pool2", MaxPool2D(2, 2))])
    return net.astype(np.float64)


def _projection_test(rule):
    def run(st, rng):
        from ..deconv import Deconvnet
        net = _small_net()
        x = rng.standard_normal((2, 3, 11, 11))
        channel = int(rng.integers(5))
        expected = Deconvnet(net).project(x, "pool2", channel, rule=rule)
        net.forward(x, keep=True)
        acts = net.activations["pool2"]
        signal = np.zeros_like(acts)
        for n in range(x.shape[0]):            # keep the strongest activation of the map, as project does
            r, c = np.unravel_index(np.argmax(acts[n, channel]), acts.shape[2:])
            signal[n, channel, r, c] = acts[n, channel, r, c]
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


DECONV = ([_reverse_rule_test(r) for r in RULES] + [_unpool_test(POOL_CASES[1], "unpool")]
          + [_transpose_conv_test(c) for c in CONV_CASES[:2]] + [_boxes_test(c) for c in BOX_CASES]
          + [_projection_test(r) for r in RULES])


# ---- sgd ------------------------------------------------------------------------------------

def _sgd_step_test(name, momentum, weight_decay, rest):
    def run(st, rng):
        p, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
        v = np.zeros((4, 3)) if rest else rng.standard_normal((4, 3))
        lr = 0.05
        got = st.sgd_momentum(p, g, v, lr, momentum, weight_decay)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Fail(f"sgd_momentum returned {type(got).__name__}, expected (new_param, new_velocity)")
        new_p, new_v = F.sgd_momentum(p, g, v, lr, momentum, weight_decay)
        flipped = -momentum * v - lr * (g + weight_decay * p)
        close("new velocity", got[1], new_v, decoys=[
            (-new_v, "the velocity is what is ADDED to the parameter: v' = momentum v - lr g"),
            (flipped, "the momentum term has the wrong sign: v' = + momentum * v - lr * grad"),
            (momentum * v - lr * (g - weight_decay * p), "weight decay has the wrong sign: it pulls towards 0"),
            (momentum * v - lr * g - weight_decay * p, "weight decay is part of the gradient, so lr scales it too"),
            (momentum * v - lr * g, "weight decay is missing")])
        close("new param", got[0], new_p)
        return "new param and velocity equal the reference"
    return Test(f"sgd_momentum, {name}", 1, ("sgd_momentum",), run)


def _blobs():
    """A fixed small problem: 5 classes of 40 points in 10-D, not quite separable."""
    rng = np.random.default_rng(11)
    centres = 1.5 * rng.standard_normal((5, 10))
    labels = np.repeat(np.arange(5), 40)
    return centres[labels] + rng.standard_normal((200, 10)), labels


#: The training loss the student's step must reach in 5 epochs at lr 0.01: minizf's own step
#: reaches 0.16; without momentum it is 0.82, with the momentum's sign flipped 1.09.
SGD_TARGET = 0.3


def _sgd_training(st, rng):
    x, labels = _blobs()
    W, b = 0.01 * np.random.default_rng(3).standard_normal((5, 10)), np.zeros(5)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    order_rng = np.random.default_rng(4)
    for _ in range(5):
        for idx in np.array_split(order_rng.permutation(200), 10):
            _, probs = F.softmax_cross_entropy(F.linear(x[idx], W, b), labels[idx])
            _, dW, db = F.linear_backward(F.softmax_cross_entropy_backward(probs, labels[idx]), x[idx], W)
            W, vW = (as_array(f"sgd_momentum's {what}", a, W.shape) for what, a in
                     zip(("param", "velocity"), st.sgd_momentum(W, dW, vW, 0.01, 0.9, 1e-3)))
            b, vb = (as_array(f"sgd_momentum's {what}", a, b.shape) for what, a in
                     zip(("param", "velocity"), st.sgd_momentum(b, db, vb, 0.01, 0.9, 0.0)))
    loss = F.softmax_cross_entropy(F.linear(x, W, b), labels)[0]
    if not loss < SGD_TARGET:
        raise Fail(f"after 5 epochs with your step the training loss is {loss:.4f}, expected below {SGD_TARGET}")
    return f"training loss {loss:.4f} < {SGD_TARGET} after 5 epochs (50 steps with your update)"


SGD = [_sgd_step_test("first step from rest, no decay", 0.9, 0.0, True),
       _sgd_step_test("momentum 0.9, weight decay 0.01", 0.9, 0.01, False),
       _sgd_step_test("momentum 0.5, weight decay 0.1", 0.5, 0.1, False),
       Test("training a softmax classifier with your step", 3, ("sgd_momentum",), _sgd_training)]

SUITES = {"conv": CONV, "pool": POOL, "lrn": LRN, "layers": LAYERS, "deconv": DECONV, "sgd": SGD}
