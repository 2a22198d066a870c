"""The layers assignment's tests: ReLU, dropout, linear, softmax cross-entropy and their backwards."""
import numpy as np

from ... import functional as F
from ..compare import as_array, close
from ..outcome import Fail, Test
from .common import numeric


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
        if mask.dtype == bool:
            raise Fail("mask: returned booleans (which units are kept); the mask is the factor each unit "
                       "is multiplied by: 0 or 1 / (1 - p)")
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
              numeric(lambda: float((F.linear(x, W, b) * dy).sum()), array), tol=1e-5)
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
        close("loss", value, loss, magnitude=scale,
              decoys=[(loss * 6, "the loss is the MEAN over the batch, not the sum")])
        close("probs", got[1], probs, magnitude=scale)
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
          numeric(lambda: F.softmax_cross_entropy(scores, labels)[0], scores), tol=1e-5)
    return "(probs - onehot) / N, equal to float64 central differences"


LAYERS = [Test("relu", 1, ("relu",), _relu), Test("relu_backward, with x = 0 entries", 2, ("relu_backward",),
                                                  _relu_backward),
          _dropout_test(0.2), _dropout_test(0.7),
          Test("dropout_backward", 1, ("dropout_backward",), _dropout_backward),
          Test("linear", 1, ("linear",), _linear_forward),
          Test("linear_backward", 2, ("linear_backward",), _linear_backward),
          _softmax_forward(1.0), _softmax_forward(1000.0),
          Test("softmax_cross_entropy_backward", 2, ("softmax_cross_entropy_backward",), _softmax_backward)]
