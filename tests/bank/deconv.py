"""A correct "deconv" submission written with loops, not minizf's code; the bank edits it."""
import numpy as np

ASSIGNMENT = "deconv"


def relu_reverse(signal, x, rule="deconvnet"):
    if rule == "deconvnet":
        return np.maximum(signal, 0)
    if rule == "gradient":
        return signal * (x > 0)
    return np.maximum(signal, 0) * (x > 0)


def unpool(signal, switches, input_shape):
    N, C, H, W = input_shape
    out = np.zeros((N, C, H * W))
    for n in range(N):
        for c in range(C):
            np.add.at(out[n, c], switches[n, c].ravel().astype(int), signal[n, c].ravel())
    return out.reshape(input_shape)


def conv2d_backward_input(dy, W, x_shape, stride=1, pad=0):
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (pad, pad) if np.isscalar(pad) else pad
    N, C, H, Wd = x_shape
    F, _, kh, kw = W.shape
    dx = np.zeros((N, C, H + 2 * ph, Wd + 2 * pw))
    for n in range(N):
        for r in range(dy.shape[2]):
            for c in range(dy.shape[3]):
                dx[n, :, r * sh:r * sh + kh, c * sw:c * sw + kw] += np.einsum("f,fchw->chw", dy[n, :, r, c], W)
    return dx[:, :, ph:ph + H, pw:pw + Wd]


def receptive_boxes(windows, size):
    boxes = []
    for unit in range(size):
        start, end = unit, unit + 1
        for kernel, stride, pad in windows[::-1]:
            start, end = start * stride - pad, (end - 1) * stride + kernel - pad
        boxes.append((start, end))
    return np.array(boxes)
