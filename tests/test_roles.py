"""The paper's layers 1, 5 and 7 are found from a network's wiring, not from its names."""
import pytest

from minizf import (Add, AdaptiveAvgPool2D, Conv2D, Dropout, Flatten, Graph, Linear, MaxPool2D, ReLU, Sequential,
                    models)
from minizf.roles import describe_roles, paper_layer, resolve


def test_the_papers_own_network():
    net = models.zf64()
    assert describe_roles(net) == {"layer1": "norm1", "layer5": "relu5", "layer7": "relu7"}


def test_names_that_mislead_are_not_believed():
    # a VGG-style chain whose "relu7" follows its seventh conv, far from the classifier
    layers = []
    for k in range(1, 9):
        layers += [(f"conv{k}", Conv2D(4 if k > 1 else 3, 4, 3, pad=1)), (f"relu{k}", ReLU())]
    layers += [("pool", MaxPool2D(2)), ("flatten", Flatten()), ("fc_a", Linear(4 * 4 * 4, 8)), ("act_a", ReLU()),
               ("drop_a", Dropout()), ("fc_b", Linear(8, 3))]
    net = Sequential(layers, input_shape=(3, 8, 8))
    assert describe_roles(net) == {"layer1": "relu1", "layer5": "relu8", "layer7": "act_a"}
    assert resolve(net, "relu7") == "relu7" and resolve(net, "layer7") == "act_a"


def test_a_residual_graph_and_a_conv_classifier():
    net = Graph([("c1", Conv2D(3, 4, 3, pad=1), "input"), ("r1", ReLU(), "c1"), ("p1", MaxPool2D(2), "r1"),
                 ("c2", Conv2D(4, 4, 3, pad=1), "p1"), ("sum", Add(), ["c2", "p1"]), ("r2", ReLU(), "sum"),
                 ("gap", AdaptiveAvgPool2D(1), "r2"), ("flat", Flatten(), "gap"), ("fc", Linear(4, 2), "flat")])
    assert describe_roles(net) == {"layer1": "p1", "layer5": "r2", "layer7": "gap"}
    squeeze = Sequential([("c1", Conv2D(3, 4, 3)), ("r1", ReLU()), ("c2", Conv2D(4, 10, 1)), ("r2", ReLU()),
                          ("gap", AdaptiveAvgPool2D(1)), ("flat", Flatten())])
    assert paper_layer(squeeze, "layer7") == "r1"          # what feeds the conv classifier
    assert paper_layer(squeeze, "layer5") == "r1"          # the classifier is no feature layer
    with pytest.raises(KeyError, match="no layer named 'conv9'.*layer1, layer5, layer7"):
        resolve(squeeze, "conv9")


def test_layer_5_is_the_nearest_relu_when_the_last_conv_forks():
    # c2 is read first by its own ReLU, then by a BatchNorm whose ReLU lies one step further:
    # layer 5 is the ReLU right after the conv, not the one found by walking the deeper branch
    from minizf import BatchNorm2D
    net = Graph([("c1", Conv2D(3, 4, 3, pad=1), "input"), ("r1", ReLU(), "c1"), ("p1", MaxPool2D(2), "r1"),
                 ("c2", Conv2D(4, 4, 3, pad=1), "p1"), ("near", ReLU(), "c2"), ("bn", BatchNorm2D(4), "c2"),
                 ("far", ReLU(), "bn"), ("sum", Add(), ["far", "near"]), ("gap", AdaptiveAvgPool2D(1), "sum"),
                 ("flat", Flatten(), "gap"), ("fc", Linear(4, 2), "flat")])
    assert paper_layer(net, "layer5") == "near"
