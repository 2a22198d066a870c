"""The paper's networks (Fig. 3), Krizhevsky's, and small twins for 32 and 64 px images.

All are one shape of network, built by ``eight_layer_net``: five conv layers
(conv -> ReLU, with 3x3 stride-2 ceil-mode max-pooling after layers 1, 2, 5
and LRN after layers 1, 2), then fc6 and fc7 (ReLU, dropout 0.5) and fc8.
The models differ only in their conv specs, widths and input size. The
Table 3 ablations are options: ``drop`` removes layers 3, 4, 6 or 7, and the
widths of layers 3-5 and 6-7 can be changed.
"""
import math

from .layers import LRN, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from .net import Sequential

POOLED = (1, 2, 5)      # layers followed by max-pooling
NORMALIZED = (1, 2)     # layers followed by LRN
DROPPABLE = (3, 4, 6, 7)


def eight_layer_net(input_shape, convs, widths, fc_width, num_classes, drop=(), dropout=0.5):
    """Build the 5-conv + 3-fc network: input (N, *input_shape) -> scores (N, num_classes).

    convs: five (kernel, stride, pad) for conv1..conv5; widths: their five
    output channel counts; fc_width: units of fc6 and fc7 (an int or a pair);
    drop: layer numbers among 3, 4, 6, 7 to remove (Table 3).
    """
    drop = set(drop)
    if not drop <= set(DROPPABLE):
        raise ValueError(f"drop: only layers {DROPPABLE} can be removed, got {sorted(drop)}")
    fc_widths = (fc_width, fc_width) if isinstance(fc_width, int) else tuple(fc_width)
    net = Sequential([], input_shape=input_shape)
    channels = input_shape[0]
    for i, (width, (k, s, p)) in enumerate(zip(widths, convs), start=1):
        if i in drop:
            continue
        net.add(f"conv{i}", Conv2D(channels, width, k, s, p))
        net.add(f"relu{i}", ReLU())
        if i in POOLED:
            net.add(f"pool{i}", MaxPool2D(3, 2, ceil_mode=True))
        if i in NORMALIZED:
            net.add(f"norm{i}", LRN())
        channels = width
    net.add("flatten", Flatten())
    features = net.output_shapes(input_shape)[-1][1][0]
    for i, width in zip((6, 7), fc_widths):
        if i in drop:
            continue
        net.add(f"fc{i}", Linear(features, width))
        net.add(f"relu{i}", ReLU())
        net.add(f"drop{i}", Dropout(dropout, seed=i))
        features = width
    net.add("fc8", Linear(features, num_classes))
    return net


def zfnet(num_classes=1000, drop=(), widths=(96, 256, 384, 384, 256), fc_width=4096):
    """Zeiler & Fergus, Fig. 3: (N, 3, 224, 224) -> (N, num_classes).

    conv1 7x7/2 pad 1 -> 110, pool -> 55; conv2 5x5/2 -> 26, pool -> 13;
    conv3-5 3x3/1 pad 1 -> 13; pool5 -> 6x6x256 = 9216; fc6, fc7 4096; fc8.
    """
    convs = [(7, 2, 1), (5, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 224, 224), convs, widths, fc_width, num_classes, drop)


def krizhevsky_net(num_classes=1000, drop=(), widths=(96, 256, 384, 384, 256), fc_width=4096):
    """Krizhevsky et al. 2012 as one dense tower: (N, 3, 227, 227) -> (N, num_classes).

    conv1 11x11/4 -> 55, pool -> 27; conv2 5x5/1 pad 2 -> 27, pool -> 13;
    conv3-5 3x3/1 pad 1 -> 13; pool5 -> 6x6x256. It takes 227 px (as Caffe's
    version of it) so that 11x11/4 tiles the image exactly; the layer order
    conv-ReLU-pool-LRN is kept the same as the ZF model for comparison.
    """
    convs = [(11, 4, 0), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 227, 227), convs, widths, fc_width, num_classes, drop)


def zf_small(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """ZF-shaped net for 32x32 images (CIFAR-10): (N, 3, 32, 32) -> (N, num_classes).

    conv1 3x3/1 pad 1 -> 32, pool -> 16; conv2 3x3/1 pad 1 -> 16, pool -> 8;
    conv3-5 at 8x8; pool5 -> 4x4.
    """
    convs = [(3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 32, 32), convs, widths, fc_width, num_classes, drop)


def krizhevsky_small(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """The Krizhevsky-style twin of ``zf_small``: a larger, strided first layer (5x5/2).

    conv1 5x5/2 pad 2 -> 16, pool -> 8; conv2 3x3/1 pad 1 -> 8, pool -> 4;
    conv3-5 at 4x4; pool5 -> 2x2. Like 11x11/4 against 7x7/2 (Sec. 4.1), it
    throws away resolution early.
    """
    convs = [(5, 2, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 32, 32), convs, widths, fc_width, num_classes, drop)


def zf_small64(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """ZF-shaped net for 64x64 images: conv1 5x5/2 pad 2 -> 32, pool -> 16; conv2 -> 16,
    pool -> 8; conv3-5 at 8x8; pool5 -> 4x4. (N, 3, 64, 64) -> (N, num_classes)."""
    convs = [(5, 2, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 64, 64), convs, widths, fc_width, num_classes, drop)


def krizhevsky_small64(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """Krizhevsky-style twin of ``zf_small64``: conv1 7x7/4 pad 3 -> 16, pool -> 8;
    conv2 5x5/1 pad 2 -> 8, pool -> 4; conv3-5 at 4x4; pool5 -> 2x2."""
    convs = [(7, 4, 3), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 64, 64), convs, widths, fc_width, num_classes, drop)


def zf64(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """Fig. 3 scaled to 64x64 photos (Imagenette): (N, 3, 64, 64) -> (N, num_classes).

    conv1 7x7/2 pad 3 -> 32 (the paper's first layer), pool -> 16, LRN;
    conv2 5x5/1 pad 2 -> 16, pool -> 8, LRN; conv3-5 3x3/1 at 8x8; pool5 -> 4x4.
    (The paper's conv2 has stride 2, which at 64 px would leave conv3 at 4x4;
    here it keeps stride 1, so the model keeps twice its twin's resolution.)
    """
    convs = [(7, 2, 3), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 64, 64), convs, widths, fc_width, num_classes, drop)


def krizhevsky64(num_classes=10, drop=(), widths=(64, 128, 192, 192, 128), fc_width=512):
    """The Krizhevsky-style twin of ``zf64`` (Sec. 4.1): (N, 3, 64, 64) -> (N, num_classes).

    conv1 11x11/4 pad 5 -> 16 (2012's first layer), pool -> 8, LRN; conv2
    5x5/1 pad 2 -> 8 (as 2012's), pool -> 4, LRN; conv3-5 at 4x4; pool5 -> 2x2.
    """
    convs = [(11, 4, 5), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
    return eight_layer_net((3, 64, 64), convs, widths, fc_width, num_classes, drop)


MODELS = {
    "zf": zfnet,
    "krizhevsky": krizhevsky_net,
    "zf-small": zf_small,
    "krizhevsky-small": krizhevsky_small,
    "zf-small64": zf_small64,
    "krizhevsky-small64": krizhevsky_small64,
    "zf64": zf64,
    "krizhevsky64": krizhevsky64,
}


def build(name, **options):
    """A model by its name in ``MODELS`` (e.g. "zf-small"), with the builder's options."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {sorted(MODELS)}")
    return MODELS[name](**options)


def parameter_count(net):
    """Number of learnable scalars in a network."""
    return sum(math.prod(p.shape) for _, p, _ in net.named_parameters())
