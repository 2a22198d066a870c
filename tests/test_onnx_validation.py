"""ONNX files that onnxruntime refuses or computes differently: minizf refuses them in one line naming
the file and the node (exit 2 on the command line), or reads them as onnxruntime runs them."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from minizf.interop.onnx import load_onnx  # noqa: E402

from .test_cli_errors import assert_user_error, minizf  # noqa: E402

X = (2, 3, 8, 8)


def save(tmp_path, nodes, inits, out_shape=None, x_shape=X, name="m.onnx", check=True):
    """nodes from x to y with the given initializers {name: array} (a list of pairs may repeat a name)."""
    pairs = inits.items() if isinstance(inits, dict) else inits
    model = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape or ["a", "b", "c", "d"]))],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in pairs]),
        opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def run_ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def x_batch(seed=0):
    return np.random.default_rng(seed).standard_normal(X).astype(np.float32)


def refused(path, *words):
    with pytest.raises(ValueError) as err:
        load_onnx(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    assert_user_error(minizf("info", "--model", path), path.name, *words)


def rng_array(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- silent differences from onnxruntime, before --------------------------------------------------

def test_an_add_after_a_matmul_that_does_not_read_it_is_not_taken_for_its_bias(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "W"], ["m"], name="mm"),
             helper.make_node("Add", ["f", "b"], ["y"], name="plus")]       # adds b to f, not to m
    path = save(tmp_path, nodes, {"W": rng_array(192, 192), "b": rng_array(192)}, (2, 192))
    refused(path, "'plus' (Add)", "adds a constant")


def test_a_matmul_and_its_bias_are_fused_either_way_round(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "W"], ["m"], name="mm"),
             helper.make_node("Add", ["b", "m"], ["y"], name="plus")]
    path = save(tmp_path, nodes, {"W": rng_array(192, 5), "b": rng_array(5)}, (2, 5))
    net, _, _ = load_onnx(path)
    assert [type(layer).__name__ for _, layer in net] == ["Flatten", "Linear"]
    np.testing.assert_allclose(net.forward(x_batch()), run_ort(path, x_batch()), rtol=1e-4, atol=1e-4)


def test_a_matmul_whose_output_is_read_twice_keeps_it(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "W"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["a"], name="plus"),
             helper.make_node("Add", ["a", "m"], ["y"], name="sum")]
    path = save(tmp_path, nodes, {"W": rng_array(192, 5), "b": rng_array(5)}, (2, 5))
    refused(path, "'plus' (Add)", "adds a constant")


@pytest.mark.parametrize("shape, flat", [([-1, 96], False), ([4, -1], False), ([0, 2, 96], False),
                                         ([-1, 192], True), ([0, -1], True), ([2, -1], True), ([0, 192], True)])
def test_a_reshape_is_read_only_when_it_flattens_each_image(shape, flat, tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")]
    path = save(tmp_path, nodes, {"shape": np.array(shape, np.int64)}, ["p"] * (len(shape)))
    if not flat:
        refused(path, "'rs' (Reshape)")
        return
    net, _, _ = load_onnx(path)
    np.testing.assert_array_equal(net.forward(x_batch()), run_ort(path, x_batch()))


def test_two_initializers_of_one_name_are_refused(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="c")]
    path = save(tmp_path, nodes, [("W", rng_array(4, 3, 1, 1)), ("W", rng_array(4, 3, 1, 1, seed=2))])
    refused(path, "not a valid ONNX model", "W initializer name is not unique")


def test_dropout_in_training_mode_is_refused_and_at_inference_passes_its_input_on(tmp_path):
    def dropout(training):
        nodes = [helper.make_node("Dropout", ["x", "r", "t"], ["y"], name="drop")]
        return save(tmp_path, nodes, {"r": np.array(0.5, np.float32), "t": np.array(training)},
                    name=f"d{training}.onnx")
    refused(dropout(True), "'drop' (Dropout)", "training mode")
    path = dropout(False)
    np.testing.assert_array_equal(load_onnx(path)[0].forward(x_batch()), run_ort(path, x_batch()))


@pytest.mark.parametrize("nodes, words", [
    ([helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Relu", ["x"], ["y"], name="b")],
     "'y' has been used as output names multiple times"),
    ([helper.make_node("Relu", ["x"], ["x"], name="a"), helper.make_node("Relu", ["x"], ["y"], name="b")],
     "'x' has been used as output names multiple times"),
    ([helper.make_node("Relu", ["x"], ["t"], name="a"), helper.make_node("Relu", ["t"], ["y"], name="a")],
     "two nodes are named 'a'"),
])
def test_graphs_that_are_not_single_assignment_are_refused(nodes, words, tmp_path):
    refused(save(tmp_path, nodes, {}), "not a valid ONNX model", words)


def test_an_empty_dilations_list_is_refused(tmp_path):
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="c")
    node.attribute.append(helper.make_attribute("dilations", [], attr_type=onnx.AttributeProto.INTS))
    refused(save(tmp_path, [node], {"W": rng_array(4, 3, 1, 1)}), "not a valid ONNX model", "dilations")


# ---- values that would give NaN or inf ---------------------------------------------------------------

@pytest.mark.parametrize("var, eps, words", [(0.0, 0.0, "min variance 0.0, epsilon 0.0"),
                                             (-1.0, 1e-5, "min variance -1.0"), (np.nan, 1e-5, "min variance nan")])
def test_batch_norm_variances_that_are_not_positive_are_refused(var, eps, words, tmp_path):
    ones = np.ones(3, np.float32)
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn", epsilon=eps)]
    path = save(tmp_path, nodes, {"g": ones, "b": ones, "m": ones, "v": np.array([1.0, var, 1.0], np.float32)})
    refused(path, "'bn' (BatchNormalization)", "not positive", words)


def test_non_finite_weights_are_refused_by_node(tmp_path):
    W = rng_array(4, 3, 3, 3)
    W[1, 2, 0, 0] = np.nan
    path = save(tmp_path, [helper.make_node("Conv", ["x", "W"], ["y"], name="c1")], {"W": W})
    refused(path, "'c1' (Conv)", "non-finite values in its W")


# ---- what exporters really write ---------------------------------------------------------------------

def test_an_identity_of_a_shared_initializer_is_a_constant(tmp_path):
    # PyTorch's TorchScript exporter writes SqueezeNet's equal zero biases once, the others as Identity
    nodes = [helper.make_node("Identity", ["b"], ["b2"], name="Identity_0"),
             helper.make_node("Conv", ["x", "W1", "b"], ["c1"], name="c1"),
             helper.make_node("Conv", ["c1", "W2", "b2"], ["y"], name="c2")]
    path = save(tmp_path, nodes, {"W1": rng_array(4, 3, 1, 1), "W2": rng_array(4, 4, 1, 1, seed=3),
                                  "b": np.zeros(4, np.float32)})
    net, _, _ = load_onnx(path)
    np.testing.assert_allclose(net.forward(x_batch()), run_ort(path, x_batch()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [1, -3])
def test_a_concat_along_the_channels_counted_from_either_end_loads(axis, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"),
             helper.make_node("Conv", ["x", "W"], ["c"], name="c"),
             helper.make_node("Concat", ["r", "c"], ["y"], name="cat", axis=axis)]
    path = save(tmp_path, nodes, {"W": rng_array(2, 3, 1, 1)})
    net, _, _ = load_onnx(path)
    np.testing.assert_allclose(net.forward(x_batch()), run_ort(path, x_batch()), rtol=1e-5, atol=1e-5)
    # axis -1 (the width) is not the channels
    refused(save(tmp_path, nodes[:2] + [helper.make_node("Concat", ["r", "r"], ["y"], name="cat", axis=-1)],
                 {"W": rng_array(2, 3, 1, 1)}, name="w.onnx"), "along axis -1")
