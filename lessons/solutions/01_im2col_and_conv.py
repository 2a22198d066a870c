"""Solutions to the exercises of lesson 1."""
from minizf import functional as F


def conv_output_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


def conv_by_im2col(x, W, b, stride, pad):
    N, F_ = x.shape[0], W.shape[0]
    oh = conv_output_size(x.shape[2], W.shape[2], stride, pad)
    ow = conv_output_size(x.shape[3], W.shape[3], stride, pad)
    rows = F.im2col(x, W.shape[2:], stride, pad)                  # (N*oh*ow, kh*kw*C)
    y = rows @ F.filter_matrix(W).T + b                            # (N*oh*ow, F)
    return y.reshape(N, oh, ow, F_).transpose(0, 3, 1, 2)
