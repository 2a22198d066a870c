"""How the grader compares a student's answer with the reference, and says what is wrong.

Errors are relative to the size of the expected array (the largest |value|),
never absolute: an LRN gradient of size 1e-3 that is 30% off fails, where an
absolute tolerance would let it pass. The message names the worst entry, the
student's value and the expected one, and a hint when the answer matches a
known wrong answer (a *decoy*: what the classic bug computes).
"""
import math

import numpy as np

from ..check import adjoint_error
from .outcome import Fail

#: The tolerance of every comparison of a few terms, adjoint identities included: about 8 float32
#: epsilons relative to the size of the answer, so a student whose arithmetic runs in float32
#: passes, while the classic bugs (a flipped filter, a dropped term, an averaged sum) are off by
#: far more than 1e-3.
TOL = 1e-6
#: float32's unit roundoff. A float32 sum of K terms of random sign strays from the exact sum by
#: about U32 * sqrt(K / 2) of the sum's size (each rounding is a step of a random walk), so an
#: answer whose entries sum K products is allowed 8 * U32 * sqrt(K) (``tolerance``): a gradient
#: summed over a real layer's 2048 positions may show 1.2e-6 (measured, README) where 1e-6 would
#: fail an honest student on one seed in four.
U32 = float(np.finfo(np.float32).eps) / 2


def tolerance(terms=1, magnitude=1.0):
    """The relative error allowed in an answer each of whose entries sums ``terms`` products, from
    inputs of size up to ``magnitude`` where the answer depends on their differences (softmax of
    scores of size 1000: rounding the scores to float32 alone moves each by 1000 * U32)."""
    return max(TOL, 8 * U32 * math.sqrt(terms) * max(magnitude, 1.0))


def as_array(what, got, shape):
    """got as a float64/int array of the expected shape, else Fail saying what came back."""
    if got is None:
        raise Fail(f"{what}: returned None (forgot to return?)")
    try:
        a = np.asarray(got)
    except Exception:                               # noqa: BLE001 - anything unreadable
        raise Fail(f"{what}: returned {type(got).__name__}, expected an array") from None
    if a.dtype.kind not in "biuf":
        raise Fail(f"{what}: returned an array of {a.dtype}, expected numbers")
    if a.dtype == np.float16:
        raise Fail(f"{what}: returned float16, which cannot hold the answer to 1e-6; use float32 or float64")
    if tuple(a.shape) != tuple(shape):
        raise Fail(f"{what}: shape {tuple(a.shape)}, expected {tuple(shape)}")
    return a


def error(got, expected):
    """max |got - expected| / max |expected| (0 when both are 0); inf where got is not finite."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if not np.isfinite(got).all():
        return np.inf
    scale = np.abs(expected).max(initial=0.0)
    diff = np.abs(got - expected).max(initial=0.0)
    return diff / scale if scale > 0 else diff


def worst(got, expected):
    """'worst at [i, j]: yours 1.25, expected 1.5' for the entry that differs most."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    diff = np.abs(np.nan_to_num(got - expected, nan=np.inf))
    i = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return f"worst at {list(map(int, i))}: yours {got[i]:.6g}, expected {expected[i]:.6g}"


def matches(got, decoy, tol=TOL):
    return decoy is not None and np.shape(got) == np.shape(decoy) and error(got, decoy) <= tol


def hint_for(got, decoys):
    """The hint of the first decoy the answer matches, as ' -- hint: ...', else ''."""
    for decoy, text in decoys:
        if matches(got, decoy() if callable(decoy) else decoy):
            return f" -- hint: {text}"
    return ""


def close(what, got, expected, tol=None, decoys=(), terms=1, magnitude=1.0):
    """Fail unless got matches expected to a relative error of tol (default: ``tolerance(terms,
    magnitude)``: how many products each entry sums, how large the inputs are); returns the error."""
    tol = tolerance(terms, magnitude) if tol is None else tol
    expected = np.asarray(expected)
    a = as_array(what, got, expected.shape)
    err = error(a, expected)
    if not err <= tol:
        shown = "not finite (inf or NaN)" if err == np.inf else f"relative error {err:.1e} > {tol:.0e}"
        raise Fail(f"{what}: {shown}; {worst(a, expected)}{hint_for(a, decoys)}")
    return err


def equal(what, got, expected, decoys=()):
    """Fail unless got equals expected exactly (integers: switches)."""
    expected = np.asarray(expected)
    a = as_array(what, got, expected.shape)
    if not np.array_equal(a, expected):
        wrong = int((a != expected).sum())
        raise Fail(f"{what}: {wrong} of {a.size} entries differ; {worst(a, expected)}{hint_for(a, decoys)}")


def adjoint(what, ax, y, x, aty, tol=TOL):
    """Fail unless <A x, y> and <x, A^T y> agree relative to |A x| |y| + |x| |A^T y|
    (``check.adjoint_error``, computed without overflow), saying why when it cannot be judged:
    answers that are not finite, inner products that overflow (an entry of 1e200 once overflowed
    the scale to inf and passed any identity), or both maps returning zeros (the identity then
    holds for any pair)."""
    ax, y, x, aty = (np.asarray(a, np.float64) for a in (ax, y, x, aty))
    if not all(np.isfinite(a).all() for a in (ax, aty)):
        raise Fail(f"{what}: not finite (inf or NaN)")
    if not (ax.any() or aty.any()):
        raise Fail(f"{what}: both maps returned all zeros (the identity then holds for any pair); "
                   "write them first")
    err = adjoint_error(ax, y, x, aty)
    if err == np.inf:
        raise Fail(f"{what}: values too large to check (the inner products overflow)")
    if not err <= tol:
        lhs, rhs = float((ax * y).sum()), float((x * aty).sum())
        raise Fail(f"{what}: <A x, y> = {lhs:.10g} but <x, A^T y> = {rhs:.10g} "
                   f"(relative difference {err:.1e}): not the transpose")
    return err
