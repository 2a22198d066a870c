"""The pool assignment's tests: max_pool2d with switches, unpool, max_pool2d_backward."""
import numpy as np

from ... import functional as F
from ..compare import adjoint, as_array, close, equal
from ..outcome import Fail, Test
from .common import numeric, tie_free


POOL_CASES = [
    # name, x shape, kernel, stride, pad, ceil_mode
    ("2x2 stride 2", (2, 3, 6, 6), 2, None, 0, False),
    ("3x3 stride 2 (overlapping windows)", (2, 2, 7, 7), 3, 2, 0, False),
    ("3x3 stride 2, ceil mode on 6x6 (the last window overhangs)", (1, 2, 6, 6), 3, 2, 0, True),
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
    decoys.append((c * H + r, "switches are h*W + w (row-major: the row times the width, plus the column); "
                   "yours are w*H + h"))
    return decoys


def _pool_input(shape, p, ties, rng, ceil=False):
    if ties:                                    # many equal maxima
        return rng.integers(0, 3, shape).astype(np.float64)
    x = tie_free(shape, rng)
    # Padded and ceil-mode cases: negative, so a zero in a pad or an overhanging window would win.
    return -1 - np.abs(x) if p or ceil else x


def _pool_forward_test(case, ties=False):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = _pool_input(shape, p, ties, rng, ceil)
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
        x = tie_free(shape, rng)
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
        adjoint("your unpool vs pooling with your switches frozen", gathered, signal, z, back)
        return "<pool_s(z), g> = <z, unpool(g, s)> with your switches s frozen"
    return Test(f"unpool is the transpose of pooling with frozen switches, {name}", 1,
                ("max_pool2d", "unpool"), run)


def _pool_gradient_test(case):
    name, shape, k, s, p, ceil = case

    def run(st, rng):
        x = tie_free(shape, rng)
        y, switches = F.max_pool2d(x, k, s, p, ceil)
        dy = rng.standard_normal(y.shape)
        got = st.max_pool2d_backward(dy, switches, shape)
        close("dx vs central differences", got,
              numeric(lambda: float((F.max_pool2d(x, k, s, p, ceil)[0] * dy).sum()), x), tol=1e-5)
        return "dx equals float64 central differences (tie-free input, random dy)"
    return Test(f"max_pool2d_backward vs numerical gradient, {name}", 1, ("max_pool2d_backward",), run)


POOL = ([_pool_forward_test(c) for c in POOL_CASES] + [_pool_forward_test(c, ties=True) for c in POOL_CASES[:2]]
        + [_unpool_test(c, "unpool") for c in POOL_CASES[1:3]]
        + [_unpool_test(c, "max_pool2d_backward") for c in POOL_CASES[:2]]
        + [_pool_adjoint_test(POOL_CASES[1]), _pool_gradient_test(POOL_CASES[1]), _pool_gradient_test(POOL_CASES[3])])
