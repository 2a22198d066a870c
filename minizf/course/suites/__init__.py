"""The graded tests of every assignment, one module per assignment, each chosen to expose a classic bug.

A test calls the student's functions (``s.conv2d(...)``, run in the sandbox)
on inputs drawn from ``rng``, computes the answer with ``minizf.functional``
here in the grader, and compares. Gradients are checked against the reference
backward *and* against float64 central differences of the reference forward,
with a random upstream gradient. Linear maps are checked by their adjoint
identity on the student's own pair. Decoys (what a known bug computes) turn
a failure into a hint.
"""
from .conv import CONV
from .deconv import DECONV
from .layers import LAYERS
from .lrn import LRN
from .pool import POOL
from .sgd import SGD

SUITES = {"conv": CONV, "pool": POOL, "lrn": LRN, "layers": LAYERS, "deconv": DECONV, "sgd": SGD}
