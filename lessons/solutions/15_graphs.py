"""Solutions to the exercises of lesson 15."""


def concat_backward_by_hand(dy, channels):
    parts, start = [], 0
    for c in channels:
        parts.append(dy[:, start:start + c])
        start += c
    return parts


def residual_backward(dy, x, W):
    return dy @ W + dy
