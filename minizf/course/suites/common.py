"""What the graded tests share: numerical gradients, tie-free inputs, the classic col2im bug."""
import numpy as np

from ... import functional as F
from ...check import numerical_gradient, tie_free_like
from ..compare import close
from ..outcome import Fail, Test


def numeric(f, x):
    """Central differences of the scalar f() with respect to x (perturbed in place), float64."""
    return numerical_gradient(f, x, eps=1e-5)


def tie_free(shape, rng):
    """Distinct values in about [-2, 2] (no ties for max-pooling, no zeros for ReLU)."""
    return 2 * tie_free_like(shape, seed=int(rng.integers(2**31)))


def windows(x_shape, kernel, stride, pad):
    """[(n, r, c, rows, cols)] of every window of a conv/pool, in padded coordinates."""
    (oh, ow), (kh, kw), (sh, sw), _ = F.window_grid(x_shape, kernel, stride, pad)
    return [(n, r, c, slice(r * sh, r * sh + kh), slice(c * sw, c * sw + kw))
            for n in range(x_shape[0]) for r in range(oh) for c in range(ow)]


def col2im_overwrite(cols, x_shape, kernel, stride, pad):
    """The classic col2im bug: each window *assigns* its entries, the last window wins."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = F.pair(kernel), F.pair(pad)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for k, (n, _, _, rows, cols_) in enumerate(windows(x_shape, kernel, stride, pad)):
        out[n, :, rows, cols_] = cols[k].reshape(kh, kw, C).transpose(2, 0, 1)
    return out[:, :, ph:ph + H, pw:pw + W]


# A backward computed by finite differences of the student's own forward costs two forward passes
# per input entry: minutes at the size of a real layer, where an honest loop takes a fraction of a
# second (measured in the handout README). Passing this test is what lets a function's other
# tests count (grader.gate).
AT_SCALE_LIMIT = 10.0
#: A real convolution layer: x (N, C, H, W), filters, kernel, pad; 65,536 input entries.
REAL_LAYER = ((2, 32, 32, 32), 4, 3, 1)
REAL_LAYER_TEXT = "x 2x32x32x32, 4 filters 3x3, pad 1"


def real_layer(rng):
    """x, W and a random upstream gradient dy of REAL_LAYER."""
    shape, f, k, p = REAL_LAYER
    x, W = rng.standard_normal(shape), rng.standard_normal((f, shape[1], k, k)) / k
    return x, W, rng.standard_normal((shape[0], f) + shape[2:])


def at_scale_test(fn, what, points, build):
    """A gate test: ``fn`` on inputs of a real layer's size within AT_SCALE_LIMIT seconds.

    ``build(rng)`` returns (args, {part name: expected array}, {part name: terms each entry sums});
    a tuple answer is compared part by part.
    """
    def run(st, rng):
        args, expected, terms = build(rng)
        got = getattr(st, fn)(*args)
        parts = list(expected.items())
        if len(parts) > 1 and (not isinstance(got, (tuple, list)) or len(got) != len(parts)):
            raise Fail(f"{fn} returned {type(got).__name__}, expected a tuple of {len(parts)}")
        for i, (name, value) in enumerate(parts):
            close(name, got[i] if len(parts) > 1 else got, value, terms=terms.get(name, 1))
        return f"equals the reference within {AT_SCALE_LIMIT:g} s"
    return Test(f"{fn} at the size of a real layer ({what})", points, (fn,), run,
                time_limit=AT_SCALE_LIMIT, gate=True)
