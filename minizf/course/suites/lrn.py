"""The lrn assignment's tests: lrn and lrn_backward, small and large alphas, odd and even sizes."""
from ... import functional as F
from ..compare import close
from ..outcome import Test
from .common import at_scale_test, numeric


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
            (dy * (s ** -beta - 2 * alpha * beta * x ** 2 * s ** (-beta - 1)),
             "only the j = i term of the cross-channel sum: dx_i also collects -2 alpha beta x_i "
             "dy_j y_j / s_j from every channel j whose window holds i"),
            (lambda: dy * s ** -beta - 2 * alpha * beta * x * F.window_sum(dy * y / s, size // 2, (size - 1) // 2)
             if size % 2 == 0 else None,
             "for an even size the cross-channel sum runs over the MIRRORED window: channel i lies "
             "in the windows of j in [i - (size-1)//2, i + size//2]")])
        close("dx vs central differences", got,
              numeric(lambda: float((F.lrn(x, size, alpha, beta, k) * dy).sum()), x), tol=1e-5)
        return "dx equals the reference and float64 central differences (random dy)"
    return Test(f"lrn_backward, {name}", 2, ("lrn_backward",), run)


def _real_lrn(rng):
    x, dy = rng.standard_normal((8, 32, 16, 16)), rng.standard_normal((8, 32, 16, 16))
    args = (dy, x, 5, 0.1, 0.75, 2.0)
    return args, {"dx": F.lrn_backward(*args)}, {"dx": 5}


LRN = ([_lrn_forward_test(c) for c in LRN_CASES] + [_lrn_backward_test(c) for c in LRN_CASES]
       + [at_scale_test("lrn_backward", "x 8x32x16x16, size 5, alpha 0.1", 1, _real_lrn)])
