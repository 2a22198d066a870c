"""The paper's experiments (Sec. 4, and Tables 3, 4-5, 7 and Fig. 9 of Sec. 5), composed from the layers, the deconvnet and the data.

Each module computes arrays only; ``minizf.plot`` draws them.
"""
from .ablation import VARIANTS, AblationResult, ablation, variants
from .architecture import (band_energy, dead_filters, filter_quality, filter_stats, high_frequency_share,
                           init_correlation, noise_high_frequency_share)
from .correspondence import correspondence, hamming_delta, occlude_box
from .evolution import evolution, map_responses, response_similarity
from .features import feature_analysis, layer_features, linear_probe, pool_to_grid
from .invariance import invariance, transform
from .occlusion import OCCLUDER_FRACTIONS, occluder_sizes, occlusion
from .topk import project_top, top_activations
from .units import UnitScan, scan_units
from .transfer import (PAPER_TABLE4, PAPER_TABLE7, TransferResult, depth_verdict, few_shot_split,
                       mean_class_accuracy, train_from_scratch, transfer, transfer_verdict)
from .verdicts import (Verdict, class_purity, correspondence_verdict, ensemble_verdict, evolution_verdict,
                       filters_verdict, invariance_verdict, occlusion_effect, occlusion_verdict, settle_epoch,
                       top9_verdict)

__all__ = ["VARIANTS", "AblationResult", "ablation", "band_energy", "correspondence", "dead_filters",
           "evolution", "feature_analysis", "filter_stats", "hamming_delta", "invariance",
           "layer_features", "linear_probe", "occlude_box", "occlusion", "pool_to_grid", "project_top",
           "top_activations", "transform", "variants", "TransferResult", "few_shot_split",
           "mean_class_accuracy", "train_from_scratch", "transfer", "map_responses", "response_similarity",
           "Verdict", "class_purity", "correspondence_verdict", "evolution_verdict", "filters_verdict",
           "invariance_verdict", "occlusion_verdict", "settle_epoch", "top9_verdict", "PAPER_TABLE4", "PAPER_TABLE7",
           "depth_verdict", "transfer_verdict", "UnitScan", "scan_units", "ensemble_verdict", "filter_quality",
           "high_frequency_share", "init_correlation", "noise_high_frequency_share", "OCCLUDER_FRACTIONS",
           "occluder_sizes", "occlusion_effect"]
