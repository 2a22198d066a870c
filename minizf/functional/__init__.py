"""Pure forward/backward functions: the math of every layer, with no state.

Each forward has a backward beside it in the same module, and the
deconvnet reuses these backward functions as they are.
"""
from . import chunks, columns
from .batchnorm import batch_norm, batch_norm_backward, batch_statistics
from .merging import add, add_backward, concat, concat_backward
from .averaging import adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d, avg_pool2d_backward
from .convolution import (col_bytes, conv2d, conv2d_backward, conv2d_backward_input,
                          conv2d_backward_weight)
from .inverted_dropout import dropout, dropout_backward, dropout_mask
from .columns import col2im, filter_matrix, filters_from_matrix, im2col, window_grid
from .fully_connected import linear, linear_backward, linear_backward_input
from .loss import (log_softmax, one_vs_rest_hinge, one_vs_rest_hinge_backward, softmax_cross_entropy,
                   softmax_cross_entropy_backward)
from .normalization import lrn, lrn_backward, lrn_scale, window_sum
from .pooling import max_pool2d, max_pool2d_backward, pool_grid, unpool
from .optim import sgd_momentum
from .rectifier import rectify, relu, relu_backward, relu_reverse
from .shapes import output_size, pair, receptive_boxes, whole

__all__ = [
    "add", "add_backward", "batch_norm", "batch_norm_backward", "batch_statistics", "concat", "concat_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "chunks", "col2im", "col_bytes", "columns", "conv2d", "conv2d_backward", "conv2d_backward_input", "conv2d_backward_weight",
    "dropout", "dropout_backward", "dropout_mask", "filter_matrix", "filters_from_matrix", "im2col", "linear", "linear_backward",
    "linear_backward_input", "log_softmax", "one_vs_rest_hinge", "one_vs_rest_hinge_backward", "lrn", "lrn_backward", "lrn_scale",
    "max_pool2d", "max_pool2d_backward", "output_size", "pair", "pool_grid", "receptive_boxes", "rectify",
    "relu", "relu_backward", "relu_reverse", "sgd_momentum", "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "unpool", "whole", "window_grid", "window_sum",
]
