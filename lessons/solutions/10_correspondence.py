"""Solutions to the exercises of lesson 10."""
import numpy as np


def delta(eps):
    signs = np.sign(eps)
    n = len(signs)
    total = sum((signs[i] != signs[j]).mean() for i in range(n) for j in range(n) if i != j)
    return float(total / (n * (n - 1)))


def random_box(rng, side, size):
    return int(rng.integers(0, side - size + 1)), int(rng.integers(0, side - size + 1))
