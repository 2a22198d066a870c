"""The unit explorer: a static website of every unit of the chosen layers (``minizf explore``).

A room of its own that only looks down (analysis, deconv, plot): nothing else
in minizf imports it.
"""
from .site import explore

__all__ = ["explore"]
