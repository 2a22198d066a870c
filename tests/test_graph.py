"""Graphs (forks and joins) and the layers real models add: BatchNorm2D, Add, Concat.

References: float64 central differences (gradcheck), a loop implementation of
batch normalisation here, a Sequential for a graph that is a chain, and the
transpose identity <A x, y> = <x, A^T y> for the reverse pass.
"""
import numpy as np
import pytest

from minizf import (Add, AdaptiveAvgPool2D, BatchNorm2D, Concat, Conv2D, Flatten, Graph, Linear, MaxPool2D, ReLU,
                    Sequential, gradcheck)
from minizf.deconv import Deconvnet


def residual_net(seed=0):
    """conv -> bn -> relu1 -> conv -> bn -> add(relu1) -> relu -> pool -> fire-like concat -> gap -> fc."""
    rng = np.random.default_rng(seed)
    net = Graph([
        ("conv1", Conv2D(3, 4, 3, pad=1, rng=rng), "input"),
        ("bn1", BatchNorm2D(4), "conv1"),
        ("relu1", ReLU(), "bn1"),
        ("conv2", Conv2D(4, 4, 3, pad=1, rng=rng), "relu1"),
        ("bn2", BatchNorm2D(4), "conv2"),
        ("add", Add(), ["bn2", "relu1"]),                 # relu1 forks: the residual
        ("relu2", ReLU(), "add"),
        ("pool", MaxPool2D(2), "relu2"),
        ("expand1", Conv2D(4, 3, 1, rng=rng), "pool"),
        ("expand3", Conv2D(4, 5, 3, pad=1, rng=rng), "pool"),
        ("cat", Concat(), ["expand1", "expand3"]),
        ("relu3", ReLU(), "cat"),
        ("gap", AdaptiveAvgPool2D(1), "relu3"),
        ("flatten", Flatten(), "gap"),
        ("fc", Linear(8, 5, rng=rng), "flatten"),
    ], input_shape=(3, 8, 8))
    for name in ("bn1", "bn2"):                           # running statistics that are not the identity
        net[name].buffers["running_mean"] = rng.standard_normal(4).astype(np.float32) * 0.1
        net[name].buffers["running_var"] = rng.uniform(0.5, 2.0, 4).astype(np.float32)
        net[name].params["gamma"] = rng.uniform(0.5, 1.5, 4).astype(np.float32)
        net[name].params["beta"] = rng.standard_normal(4).astype(np.float32) * 0.1
    return net


def slow_batch_norm(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm by loops over channels: each channel's N*H*W values normalised."""
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c].ravel()
        mu = sum(values) / len(values)
        var = sum((v - mu) ** 2 for v in values) / len(values)
        y[:, c] = gamma[c] * (x[:, c] - mu) / np.sqrt(var + eps) + beta[c]
    return y


def test_batch_norm_training_forward_against_loops():
    rng = np.random.default_rng(1)
    bn = BatchNorm2D(3, dtype=np.float64)
    bn.params = {"gamma": rng.uniform(0.5, 2, 3), "beta": rng.standard_normal(3)}
    x = rng.standard_normal((4, 3, 5, 6)) * 3 + 1
    np.testing.assert_allclose(bn.forward(x, train=True), slow_batch_norm(x, bn.params["gamma"], bn.params["beta"]),
                               rtol=1e-10, atol=1e-12)
    count = 4 * 5 * 6                                      # running stats: 0.9 old + 0.1 batch (unbiased var)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * count / (count - 1))


@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_gradcheck(train):
    rng = np.random.default_rng(2)
    bn = BatchNorm2D(3).astype("float64")
    bn.buffers = {"running_mean": rng.standard_normal(3), "running_var": rng.uniform(0.5, 2, 3)}
    bn.params = {"gamma": rng.uniform(0.5, 2, 3), "beta": rng.standard_normal(3)}
    result = gradcheck(bn, rng.standard_normal((3, 3, 4, 5)), train=train)
    assert result.passed, result


def test_batch_norm_reverse_is_its_per_channel_scale():
    bn = BatchNorm2D(2).astype("float64")
    bn.params["gamma"] = np.array([2.0, -0.5])
    bn.buffers["running_var"] = np.array([3.0, 0.25])
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    bn.forward(x)
    signal = np.ones_like(x)
    scale = bn.params["gamma"] / np.sqrt(bn.buffers["running_var"] + bn.eps)
    for rule in ("deconvnet", "guided", "gradient"):
        np.testing.assert_allclose(bn.reverse(signal, rule), np.broadcast_to(scale[None, :, None, None], x.shape))


def test_add_and_concat_send_the_sum_rule_and_the_split_back():
    a, b = np.ones((2, 3, 2, 2)), 2 * np.ones((2, 3, 2, 2))
    add, cat = Add(), Concat()
    assert (add.forward([a, b]) == 3).all()
    dy = np.arange(24.0).reshape(2, 3, 2, 2)
    da, db = add.backward(dy)
    assert (da == dy).all() and (db == dy).all()
    c = np.zeros((2, 1, 2, 2))
    assert cat.forward([a, c]).shape == (2, 4, 2, 2)
    dy = np.arange(32.0).reshape(2, 4, 2, 2)
    da, dc = cat.backward(dy)
    assert (da == dy[:, :3]).all() and (dc == dy[:, 3:]).all()
    with pytest.raises(ValueError, match="one shape"):
        add.forward([a, c])
    with pytest.raises(ValueError, match="all but the channel axis"):
        cat.forward([a, np.zeros((2, 1, 3, 3))])


@pytest.mark.parametrize("train", [False, True])
def test_graph_gradcheck_through_fork_and_join(train):
    net = residual_net().astype("float64")
    x = np.random.default_rng(4).standard_normal((3, 3, 8, 8))
    result = gradcheck(net, x, train=train)
    assert result.passed, result
    assert "conv1.W" in result.errors and "bn2.gamma" in result.errors


def test_forks_sum_what_their_readers_send_back():
    # y = relu1 + conv2(relu1) read twice; dropping the direct path's share changes dx
    net = residual_net().astype("float64")
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 8))
    y = net.forward(x, upto="add")
    dy = np.random.default_rng(6).standard_normal(y.shape)
    dx = net.backward(dy)
    # by hand: the direct path alone plus the conv path alone
    relu1_grad_direct = dy
    relu1_grad_conv = net["conv2"].backward_input(net["bn2"].backward_input(dy))
    by_hand = net["conv1"].backward_input(net["bn1"].backward_input(
        net["relu1"].backward(relu1_grad_direct + relu1_grad_conv)))
    np.testing.assert_allclose(dx, by_hand, rtol=1e-12)


def test_a_chain_graph_equals_its_sequential():
    rng = np.random.default_rng(7)
    layers = [("conv1", Conv2D(3, 4, 3, rng=rng)), ("relu1", ReLU()), ("pool1", MaxPool2D(2)),
              ("flatten", Flatten()), ("fc", Linear(4 * 3 * 3, 5, rng=rng))]
    seq = Sequential(layers)
    graph = Graph([(name, layer, prev) for (name, layer), prev in zip(layers, ["input"] + [n for n, _ in layers])])
    assert graph.is_chain() and not residual_net().is_chain()
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(graph.forward(x, keep=True), seq.forward(x))
    dy = rng.standard_normal((2, 5)).astype(np.float32)
    graph_dx = graph.backward(dy)
    np.testing.assert_array_equal(graph_dx, seq.backward(dy))
    graph.forward(x)
    seq.forward(x, upto="pool1")
    s = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    graph.forward(x, upto="pool1")
    np.testing.assert_array_equal(graph.reverse(s, "pool1"), seq.reverse(s, "pool1"))


def test_graph_reverse_with_the_gradient_rule_is_the_transpose_of_its_linear_part():
    # "gradient" reverse from the add node = the exact transpose of the (now frozen) linear map
    # x -> add(x): <J x, y> = <x, J^T y>, checked with the network linearised at x0 by finite steps.
    net = residual_net().astype("float64")
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((1, 3, 8, 8))
    net.forward(x0, upto="add")
    y = rng.standard_normal(net.forward(x0, upto="add").shape)
    back = net.reverse(y, "add", rule="gradient")
    v = rng.standard_normal(x0.shape)
    h = 1e-6
    jv = (net.forward(x0 + h * v, upto="add") - net.forward(x0 - h * v, upto="add")) / (2 * h)
    assert float((jv * y).sum()) == pytest.approx(float((v * back).sum()), rel=1e-6)


def test_deconvnet_projects_through_a_graph():
    net = residual_net()
    x = np.random.default_rng(9).standard_normal((2, 3, 8, 8)).astype(np.float32)
    strongest = int(net.forward(x, upto="relu3").max(axis=(0, 2, 3)).argmax())
    projection = Deconvnet(net).project(x, "relu3", channel=strongest)
    assert projection.shape == x.shape and np.abs(projection).sum() > 0
    # deconvnet rule: only rectified signals pass a ReLU on the way down
    net.forward(x, upto="relu2")
    s = np.random.default_rng(10).standard_normal((2, 4, 8, 8)).astype(np.float32)
    below = net.reverse(s, "relu2", rule="deconvnet")
    assert below.shape == x.shape


def test_graph_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="reads 'b', which is not defined before it"):
        Graph([("a", ReLU(), "input"), ("c", Add(), ["a", "b"])])
    with pytest.raises(ValueError, match="duplicate node name 'a'"):
        Graph([("a", ReLU(), "input"), ("a", ReLU(), "a")])
    with pytest.raises(ValueError, match="takes two or more inputs"):
        Graph([("a", ReLU(), "input"), ("s", Add(), "a")])
    with pytest.raises(ValueError, match="takes one input"):
        Graph([("a", ReLU(), "input"), ("b", ReLU(), ["a", "input"])])
    with pytest.raises(TypeError, match="triples"):
        Graph([("a", ReLU())])
    net = residual_net()
    with pytest.raises(RuntimeError, match="before reverse"):
        net.reverse(np.zeros((1, 4, 8, 8), np.float32), "relu2")


def test_state_dict_carries_batch_norm_buffers(tmp_path):
    net, other = residual_net(0), residual_net(1)
    state = net.state_dict()
    assert "bn1.running_var" in state and "bn1.gamma" in state
    other.load_state_dict(state)
    x = np.random.default_rng(11).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(other.forward(x), net.forward(x))
    del state["bn2.running_mean"]
    with pytest.raises(ValueError, match=r"missing \['bn2.running_mean'\]"):
        other.load_state_dict(state)


def test_output_shapes_and_summary_name_every_node():
    net = residual_net()
    shapes = dict(net.output_shapes((3, 8, 8)))
    assert shapes["cat"] == (8, 4, 4) and shapes["fc"] == (5,)
    table = net.summary((3, 8, 8))
    assert "bn2, relu1" in table and "Concat" in table


def test_receptive_field_of_a_graph_is_the_union_of_its_paths():
    from minizf.deconv import receptive_field
    net = residual_net()
    # add = bn2(conv2(relu1)) + relu1: the conv path sees 5x5 (two 3x3 convs), the direct one 3x3
    field = receptive_field(net, "add", (3, 8, 8))
    assert field.size == (5, 5) and field.jump == (1, 1)
    assert field.box(3, 4, clip=False) == (1, 6, 2, 7)
    # the same spans as a chain of the widest path, conv1 -> conv2
    chain = Sequential([("conv1", Conv2D(3, 4, 3, pad=1)), ("conv2", Conv2D(4, 4, 3, pad=1))])
    wide = receptive_field(chain, "conv2", (3, 8, 8))
    np.testing.assert_array_equal(field.rows_full, wide.rows_full)
    pooled = receptive_field(net, "cat", (3, 8, 8))        # after a 2x2 pool and a 3x3 expand
    assert pooled.jump == (2, 2) and pooled.size == (10, 10)



def test_a_concat_of_three_inputs_hands_each_its_own_slice():
    # branches of 2, 3 and 4 channels: the third's slice starts after 2 + 3 channels
    rng = np.random.default_rng(7)
    net = Graph([("a", Conv2D(3, 2, 1, rng=rng), "input"), ("b", Conv2D(3, 3, 1, rng=rng), "input"),
                 ("c", Conv2D(3, 4, 1, rng=rng), "input"), ("cat", Concat(), ["a", "b", "c"]),
                 ("gap", AdaptiveAvgPool2D(1), "cat"), ("flat", Flatten(), "gap"),
                 ("fc", Linear(9, 3, rng=rng), "flat")], input_shape=(3, 4, 4)).astype("float64")
    result = gradcheck(net, rng.standard_normal((2, 3, 4, 4)))
    assert result.passed, result
    cat = Concat()
    cat.forward([np.zeros((1, c, 1, 1)) for c in (2, 3, 4)])
    parts = cat.backward(np.arange(9.0).reshape(1, 9, 1, 1))
    assert [p.ravel().tolist() for p in parts] == [[0, 1], [2, 3, 4], [5, 6, 7, 8]]


def test_a_merge_that_reads_the_images_still_trains_without_their_gradient():
    # add(input, conv(input)): with input_grad=False the Add must still pass the conv its share
    rng = np.random.default_rng(8)
    net = Graph([("conv", Conv2D(3, 3, 3, pad=1, rng=rng), "input"), ("add", Add(), ["input", "conv"]),
                 ("gap", AdaptiveAvgPool2D(1), "add"), ("flat", Flatten(), "gap"),
                 ("fc", Linear(3, 2, rng=rng), "flat")], input_shape=(3, 5, 5)).astype("float64")
    x = rng.standard_normal((2, 3, 5, 5))
    dy = rng.standard_normal((2, 2))
    net.forward(x)
    net.backward(dy)
    expected = net["conv"].grads["W"].copy()
    net.forward(x)
    net.backward(dy, input_grad=False)
    np.testing.assert_allclose(net["conv"].grads["W"], expected, rtol=1e-12)
