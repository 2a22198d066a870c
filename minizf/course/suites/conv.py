"""The conv assignment's tests: im2col, col2im, conv2d, conv2d_backward."""
import numpy as np

from ... import functional as F
from ..compare import adjoint, as_array, close, tolerance
from ..outcome import Fail, Test
from .common import REAL_LAYER, REAL_LAYER_TEXT, at_scale_test, col2im_overwrite, numeric, real_layer


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
        err = adjoint("your col2im vs your im2col", rows, c, x, back)
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


def _conv_backward_test(case, with_numeric):
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
        positions, spread = dy.size // f, f * kh * kw      # terms summed into dW and db, and into dx
        close("dx", got[0], dx, terms=spread, decoys=[
            (lambda: F.conv2d_backward_input(dy, W[:, :, ::-1, ::-1].copy(), shape, s, p),
             "dx uses flipped filters; the transpose of a cross-correlation uses them unflipped, "
             "spread back over each window"),
            (lambda: col2im_overwrite(drows, shape, k, s, p),
             "overlapping windows must ADD into dx; yours overwrites")])
        close("dW", got[1], dW, terms=positions,
              decoys=[(dW / shape[0], "dW is averaged over the batch: it is a sum")])
        close("db", got[2], db, terms=positions, decoys=[(db / shape[0], "db is averaged over the batch: it is a sum"),
                                        (db / (dy.size // f), "db is a mean; it is the sum of dy")])
        if not with_numeric:
            return "dx, dW, db equal the reference"
        for what, array, answer, terms in (("dx", x, got[0], spread), ("dW", W, got[1], positions),
                                           ("db", b, got[2], positions)):
            close(f"{what} vs central differences", answer,
                  numeric(lambda: float((F.conv2d(x, W, b, s, p) * dy).sum()), array), tol=max(1e-5, tolerance(terms)))
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
        # y is linear in x for fixed W and linear in W for fixed x: both transposes must match.
        adjoint("dx (the transposed convolution) vs your conv2d", y, dy, x, dx)
        adjoint("dW vs your conv2d", y, dy, W, dW)
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


def _real_col2im(rng):
    shape, _, k, p = REAL_LAYER
    cols = rng.standard_normal(F.im2col(np.zeros(shape), k, 1, p).shape)
    return (cols, shape, k, 1, p), {"col2im(cols)": F.col2im(cols, shape, k, 1, p)}, {"col2im(cols)": k * k}


def _real_backward(rng):
    x, W, dy = real_layer(rng)
    dx, dW, db = F.conv2d_backward(dy, x, W, 1, REAL_LAYER[3])
    positions = dy.size // W.shape[0]                   # dW and db sum over every output position
    return (dy, x, W, 1, REAL_LAYER[3]), {"dx": dx, "dW": dW, "db": db}, \
        {"dx": W.shape[0] * W.shape[2] * W.shape[3], "dW": positions, "db": positions}


CONV = ([_im2col_test(c) for c in CONV_CASES] + [_col2im_test(c) for c in CONV_CASES]
        + [_im2col_adjoint_test(c) for c in CONV_CASES[:2]] + [_conv_forward_test(c) for c in CONV_CASES]
        + [_conv_backward_test(c, with_numeric=i < 2) for i, c in enumerate(CONV_CASES)]
        + [_conv_adjoint_test(c) for c in CONV_CASES[:2]]
        + [Test("conv2d_backward with input_grad=False", 1, ("conv2d_backward",), _conv_no_input_grad)]
        + [at_scale_test("col2im", REAL_LAYER_TEXT, 1, _real_col2im),
           at_scale_test("conv2d_backward", REAL_LAYER_TEXT, 1, _real_backward)])
