"""Solutions to the exercises of lesson 4."""


def momentum_step(param, grad, velocity, lr, momentum, weight_decay):
    velocity = momentum * velocity - lr * (grad + weight_decay * param)
    return param + velocity, velocity
