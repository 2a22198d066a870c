"""Every intermediate shape of the paper's models, written out from Fig. 3 by hand."""
import pytest

from minizf import models

ZF = [("conv1", (96, 110, 110)), ("relu1", (96, 110, 110)), ("pool1", (96, 55, 55)),
      ("norm1", (96, 55, 55)), ("conv2", (256, 26, 26)), ("relu2", (256, 26, 26)),
      ("pool2", (256, 13, 13)), ("norm2", (256, 13, 13)), ("conv3", (384, 13, 13)),
      ("relu3", (384, 13, 13)), ("conv4", (384, 13, 13)), ("relu4", (384, 13, 13)),
      ("conv5", (256, 13, 13)), ("relu5", (256, 13, 13)), ("pool5", (256, 6, 6)),
      ("flatten", (9216,)), ("fc6", (4096,)), ("relu6", (4096,)), ("drop6", (4096,)),
      ("fc7", (4096,)), ("relu7", (4096,)), ("drop7", (4096,)), ("fc8", (1000,))]

KRIZHEVSKY = [("conv1", (96, 55, 55)), ("relu1", (96, 55, 55)), ("pool1", (96, 27, 27)),
              ("norm1", (96, 27, 27)), ("conv2", (256, 27, 27)), ("relu2", (256, 27, 27)),
              ("pool2", (256, 13, 13)), ("norm2", (256, 13, 13))] + ZF[8:]


def test_zfnet_shapes_as_fig3():
    net = models.zfnet()
    assert net.output_shapes((3, 224, 224)) == ZF
    assert net["conv1"].params["W"].shape == (96, 3, 7, 7)
    assert net["fc6"].params["W"].shape == (4096, 9216)


def test_krizhevsky_shapes():
    net = models.krizhevsky_net()
    assert net.output_shapes((3, 227, 227)) == KRIZHEVSKY
    assert net["conv1"].params["W"].shape == (96, 3, 11, 11)


@pytest.mark.parametrize("name,size,pool5", [
    ("zf-small", 32, (128, 4, 4)), ("krizhevsky-small", 32, (128, 2, 2)),
    ("zf-small64", 64, (128, 4, 4)), ("krizhevsky-small64", 64, (128, 2, 2))])
def test_small_variants_keep_the_eight_layer_structure(name, size, pool5):
    net = models.build(name)
    shapes = dict(net.output_shapes((3, size, size)))
    assert net.input_shape == (3, size, size)
    assert shapes["pool5"] == pool5 and shapes["fc8"] == (10,)
    assert [n for n in net.names if n.startswith(("conv", "fc"))] == \
        ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert {"norm1", "norm2", "pool1", "pool2", "pool5"} <= set(net.names)


@pytest.mark.parametrize("drop,kept", [
    ((3, 4), ["conv1", "conv2", "conv5", "fc6", "fc7", "fc8"]),
    ((7,), ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc8"]),
    ((6, 7), ["conv1", "conv2", "conv3", "conv4", "conv5", "fc8"]),
    ((3, 4, 6, 7), ["conv1", "conv2", "conv5", "fc8"])])
def test_table3_ablations(drop, kept):
    net = models.zf_small(drop=drop)
    assert [n for n in net.names if n.startswith(("conv", "fc"))] == kept
    assert net.output_shapes((3, 32, 32))[-1] == ("fc8", (10,))


def test_table3_widths():
    net = models.zf_small(widths=(64, 128, 512, 1024, 512), fc_width=(2048, 2048))
    assert net["conv4"].params["W"].shape == (1024, 512, 3, 3)
    assert net["fc7"].params["W"].shape == (2048, 2048)


def test_unknown_model_and_bad_drop():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("resnet")
    with pytest.raises(ValueError, match="only layers"):
        models.zf_small(drop=(5,))
