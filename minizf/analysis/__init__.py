"""The paper's experiments (Sec. 4), composed from the layers, the deconvnet and the data.

Each module computes arrays only; ``minizf.plot`` draws them.
"""
from .architecture import band_energy, dead_filters, filter_stats
from .correspondence import correspondence, hamming_delta, occlude_box
from .evolution import evolution
from .invariance import invariance, transform
from .occlusion import occlusion
from .topk import project_top, top_activations

__all__ = ["band_energy", "correspondence", "dead_filters", "evolution", "filter_stats",
           "hamming_delta", "invariance", "occlude_box", "occlusion", "project_top",
           "top_activations", "transform"]
