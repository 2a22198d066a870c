"""The update of SGD with momentum (Sec. 3): one parameter array at a time."""


def sgd_momentum(param, grad, velocity, lr, momentum=0.9, weight_decay=0.0):
    """One step: param, grad, velocity (same shape) -> (new param, new velocity), inputs untouched.

    v' = momentum * v - lr * (grad + weight_decay * param);  param' = param + v'.
    Weight decay adds the gradient of (weight_decay / 2) |param|^2; minizf's
    training applies it to weights only (weight_decay=0 for biases).
    """
    velocity = momentum * velocity - lr * (grad + weight_decay * param)
    return param + velocity, velocity
