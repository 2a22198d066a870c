"""minizf: Zeiler & Fergus's "Visualizing and Understanding Convolutional Networks",
rebuilt from scratch with explicit forward and backward passes (no autograd).

    import minizf as mz
    net = mz.models.zf_small()
    scores = net.forward(images)            # (N, 3, 32, 32) -> (N, 10)
    pixels = mz.Deconvnet(net).project(images, "conv5", channel=3)     # the paper's projection
"""
__version__ = "0.1.0"

from . import backend, check, functional, layers, models, net  # noqa: E402
from .backend import get_array_module, get_device, seed, to_device, to_numpy  # noqa: E402
from .check import adjoint_check, gradcheck, gradcheck_layers  # noqa: E402
from .layers import (LRN, Add, AdaptiveAvgPool2D, AvgPool2D, BatchNorm2D, Concat, Conv2D, Dropout, Flatten,  # noqa: E402
                     Layer, Linear, MaxPool2D, MulticlassHinge, ReLU, SoftmaxCrossEntropy)
from .graph import Graph  # noqa: E402
from .net import Sequential  # noqa: E402
from .deconv import Deconvnet  # noqa: E402
