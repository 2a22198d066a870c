"""The paper's layers by role, found from a network's structure rather than its names.

The paper speaks of "layer 1", "layer 5" and "layer 7" of its Fig. 3 network.
In a model from elsewhere the names say nothing (``features.10``, ``layer4.1.relu_1``)
or mislead (VGG-11's ``relu7`` follows its seventh conv, not its first fully
connected layer), so the roles are read from the wiring:

* layer 1: the output of the first block, the last layer before the second conv
  (conv1 -> relu -> pool -> norm in the paper: norm1);
* layer 5: the first ReLU after the last conv below the classifier (relu5), else
  that conv (a network without a fully connected layer classifies with its last
  conv, which is not a feature layer);
* layer 7: the ReLU that feeds the last fully connected layer (relu7), else what
  feeds it (a ResNet's pooled features), passing over Flatten and Dropout; in a
  network whose classifier is a conv (SqueezeNet, NiN), what feeds its last conv.

Every command's ``--layer`` takes these three names as well as the network's own.
"""
from .layers import Conv2D, Dropout, Flatten, Linear, ReLU

ROLES = ("layer1", "layer5", "layer7")


def _feeds(net, name):
    """The names a layer reads (a Graph's wiring, the previous layer in a chain)."""
    wiring = getattr(net, "inputs", None)
    if wiring is not None:
        return [i for i in wiring[name] if i != "input"]
    index = net.index(name)
    return [net.names[index - 1]] if index > 0 else []


def _readers(net, name):
    """The names that read a layer's output, in forward order."""
    wiring = getattr(net, "inputs", None)
    if wiring is not None:
        return [n for n in net.names if name in wiring[n]]
    index = net.index(name)
    return net.names[index + 1:index + 2]


def _of(net, kind):
    return [name for name, layer in net if isinstance(layer, kind)]


def layer1(net):
    """The last layer before the second conv; with one conv, the last of the layers with feature
    maps that follow it (its ReLU, pooling, normalisation) before the classifier."""
    convs = _of(net, Conv2D)
    if not convs:
        raise ValueError("the network has no conv layer: it has no layer 1 in the paper's sense")
    if len(convs) > 1:
        before = _feeds(net, convs[1])
        return before[0] if before else convs[0]
    name = convs[0]
    while True:
        readers = _readers(net, name)
        if len(readers) != 1 or isinstance(net[readers[0]], (Linear, Flatten, Dropout)):
            return name
        name = readers[0]


def _feature_convs(net):
    """The conv layers below the classifier: all of them, but the last when the network has no
    Linear layer (a conv classifier, as SqueezeNet's and NiN's, maps to the classes)."""
    convs = _of(net, Conv2D)
    return convs if _of(net, Linear) or len(convs) < 2 else convs[:-1]


def layer5(net):
    """The first ReLU downstream of the last conv below the classifier, else that conv itself."""
    convs = _feature_convs(net)
    if not convs:
        raise ValueError("the network has no conv layer: it has no layer 5 in the paper's sense")
    todo, seen = [convs[-1]], set()
    while todo:
        name = todo.pop(0)
        if isinstance(net[name], ReLU):
            return name
        seen.add(name)
        todo += [r for r in _readers(net, name) if r not in seen and not isinstance(net[r], Linear)]
    return convs[-1]


def layer7(net):
    """The ReLU that feeds the last Linear (over Flatten and Dropout), else what feeds it; without a
    Linear, the same for the last conv (a conv classifier)."""
    classifiers = _of(net, Linear) or _of(net, Conv2D)
    if not classifiers or len(_of(net, Conv2D)) + len(_of(net, Linear)) < 2:
        raise ValueError("the network has no layer below its classifier: it has no layer 7 in the paper's sense")
    linears = classifiers
    name = linears[-1]
    while True:
        feeds = _feeds(net, name)
        if len(feeds) != 1:
            return name if name != linears[-1] else linears[-1]
        name = feeds[0]
        if not isinstance(net[name], (Flatten, Dropout)):
            return name


def paper_layer(net, role):
    """The name of "layer1", "layer5" or "layer7" in ``net``."""
    return {"layer1": layer1, "layer5": layer5, "layer7": layer7}[role](net)


def resolve(net, name, flag="--layer"):
    """A layer name as given on the command line: the network's own, or one of ROLES."""
    if name in net:
        return name
    if name in ROLES:
        return paper_layer(net, name)
    raise KeyError(f"{flag}: no layer named {name!r}; layers are {', '.join(net.names)} (or the paper's "
                   f"roles {', '.join(ROLES)}: `minizf info --model FILE` lists them)")


def describe_roles(net):
    """{"layer1": name or None, ...} for printing."""
    found = {}
    for role in ROLES:
        try:
            found[role] = paper_layer(net, role)
        except ValueError:
            found[role] = None
    return found
