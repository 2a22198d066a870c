"""A correct "sgd" submission, written independently of minizf; the bank edits it."""

ASSIGNMENT = "sgd"


def sgd_momentum(param, grad, velocity, lr, momentum=0.9, weight_decay=0.0):
    step = grad + weight_decay * param
    new_velocity = momentum * velocity - lr * step
    return param + new_velocity, new_velocity
