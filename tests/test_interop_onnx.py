"""ONNX in and out, with onnxruntime as the oracle."""
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from minizf.data import bundled_model  # noqa: E402
from minizf.interop.onnx import load_onnx, save_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run_ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_exported_model_runs_the_same_in_onnxruntime(tmp_path):
    net, mean, meta = bundled_model("zf64")
    path = save_onnx(net, tmp_path / "zf64.onnx", mean, meta)
    x = np.random.default_rng(0).standard_normal((3, 3, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(run_ort(path, x), net.forward(x), rtol=1e-3, atol=1e-4)


def test_export_then_load_gives_the_same_model_back(tmp_path):
    net, mean, meta = bundled_model("zf64")
    back, mean2, meta2 = load_onnx(save_onnx(net, tmp_path / "m.onnx", mean, meta))
    assert back.names == net.names and back.input_shape == (3, 64, 64)
    for (n1, p1, _), (n2, p2, _) in zip(net.named_parameters(), back.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(mean2, mean)
    assert meta2["classes"] == meta["classes"]
    assert back["norm1"].alpha == pytest.approx(net["norm1"].alpha, rel=1e-6)   # ONNX's alpha / size, undone


def graph_of(nodes, inits, out_shape, shape=(2, 3, 12, 12)):
    model = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, list(out_shape))],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()]),
        opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def test_a_graph_built_by_hand_loads_and_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(1)
    inits = {"W1": rng.standard_normal((4, 3, 3, 3)), "b1": rng.standard_normal(4),
             "W2": rng.standard_normal((4 * 3 * 3, 6)), "b2": rng.standard_normal(6),
             "W3": rng.standard_normal((5, 6)), "b3": rng.standard_normal(5), "shape": np.array([0, -1])}
    inits_typed = {k: v for k, v in inits.items() if k != "shape"}
    nodes = [helper.make_node("Conv", ["x", "W1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("LRN", ["r1"], ["n1"], size=3, alpha=0.3, beta=0.75, bias=2.0),
             helper.make_node("MaxPool", ["n1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([0, -1], np.int64))),
             helper.make_node("Reshape", ["p1", "shape"], ["f"]),
             helper.make_node("MatMul", ["f", "W2"], ["m"]), helper.make_node("Add", ["m", "b2"], ["a"]),
             helper.make_node("Dropout", ["a"], ["d"]),
             helper.make_node("Gemm", ["d", "W3", "b3"], ["y"], transB=1)]
    path = tmp_path / "hand.onnx"
    onnx.save(graph_of(nodes, inits_typed, (2, 5)), str(path))
    net, mean, meta = load_onnx(path)
    assert mean is None and [type(l).__name__ for _, l in net] == ["Conv2D", "ReLU", "LRN", "MaxPool2D",
                                                                   "Flatten", "Linear", "Dropout", "Linear"]
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x), run_ort(path, x), rtol=1e-4, atol=1e-4)


def one_node_model(node, inits, path):
    """A one-node graph from x (1, 3, 4, 4) to y of a shape left to the node, saved at path."""
    model = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items() if k in node.input]),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    onnx.save(model, str(path))
    return path


ONES = {"s": np.ones((3, 1, 1), np.float32), "W": np.ones((3, 1, 1, 1), np.float32),
        "W3": np.ones((3, 3, 3, 3), np.float32), "B": np.ones((3, 1), np.float32)}


@pytest.mark.parametrize("node, words", [
    (helper.make_node("Sigmoid", ["x"], ["y"], name="sig1"), "'sig1' (Sigmoid) is not supported"),
    (helper.make_node("Add", ["x", "s"], ["y"], name="a"), "adds a constant"),
    (helper.make_node("Concat", ["x", "x"], ["y"], axis=2, name="c"), "along axis 2"),
    (helper.make_node("Conv", ["x", "W"], ["y"], group=3, kernel_shape=[1, 1], name="c"), "group=3"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], name="p"), "uneven padding"),
    (helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.example"), "operator domain 'com.example'"),
    (helper.make_node("Conv", ["x", "W3", "B"], ["y"], name="c"), "has a bias of shape [3, 1], not [3]"),
    (helper.make_node("LRN", ["x"], ["y"], size=2, alpha=1e-4, name="n"), "has size 2 (ONNX's LRN sums over an odd"),
    (helper.make_node("LRN", ["x"], ["y"], size=0, alpha=1e-4, name="n"), "has size 0"),
    (helper.make_node("Conv", ["x", "W"], ["y"], kernel_shape=[3, 3], name="c"), "kernel_shape [3, 3] but weights"),
])
def test_unsupported_graphs_are_refused_at_their_first_strange_node(node, words, tmp_path):
    with pytest.raises(ValueError, match="minizf reads: Conv") as err:
        load_onnx(one_node_model(node, ONES, tmp_path / "bad.onnx"))
    assert words in str(err.value)


@pytest.mark.parametrize("node, words", [
    (helper.make_node("Relu", [], ["y"], name="r"), "Node(r)"),
    (helper.make_node("MaxPool", ["x"], ["y"], name="p"), "kernel_shape"),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[0, 2], name="q"), "node name: q"),
    (helper.make_node("Conv", ["x", "W16"], ["y"], name="half"), "half): W has inconsistent type tensor(float16)"),
    (helper.make_node("Conv", ["x", "Wint"], ["y"], name="c"), "unsupported type: tensor(int64)"),
    (helper.make_node("BatchNormalization", ["x", "g", "g", "g", "g"], ["y"], training_mode=1, name="bn"),
     "node name: bn"),
])
def test_files_onnxruntime_refuses_are_refused_in_one_line(node, words, tmp_path):
    inits = {**ONES, "W16": np.ones((3, 3, 1, 1), np.float16), "Wint": np.ones((3, 3, 1, 1), np.int64),
             "g": np.ones(3, np.float32)}
    with pytest.raises(ValueError, match="bad.onnx: not a valid ONNX model") as err:
        load_onnx(one_node_model(node, inits, tmp_path / "bad.onnx"))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    path = tmp_path / "x.onnx"
    path.write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(ValueError, match="x.onnx"):
        load_onnx(path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pytorch_export_of_an_lrn_free_model_loads(tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                          nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Dropout(),
                          nn.Linear(8 * 7 * 7, 5)).eval()
    path = tmp_path / "torch.onnx"
    x = torch.randn(2, 3, 32, 32)
    try:
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["input"], opset_version=17)
    except Exception as err:                   # noqa: BLE001 - the exporter's own dependencies
        pytest.skip(f"torch.onnx.export unavailable here: {err}")
    net, _, _ = load_onnx(path)
    # PyTorch names nodes "/0/Conv", ...: the layers get the paper's names, so --layer conv2 works
    assert net.names == ["conv1", "relu1", "pool1", "conv2", "relu2", "flatten", "fc3"]
    with torch.no_grad():
        np.testing.assert_allclose(net.forward(x.numpy()), model(x).numpy(), rtol=1e-4, atol=1e-5)


def _run(*argv, cwd):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "minizf.cli", *map(str, argv)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_export_command_and_a_figure_from_the_onnx_file(tmp_path):
    done = _run("export", "data/zf64.npz", tmp_path / "zf64.onnx", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    done = _run("topk", "--model", tmp_path / "zf64.onnx", "--layer", "conv2", "--maps", "2", "--out", tmp_path / "f",
                cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f" / "top9_conv2.png").stat().st_size > 1000


def test_a_foreign_onnx_model_needs_and_takes_a_mean_and_images(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(4)
    for cls in ("cats", "dogs"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "photos" / cls / f"{i}.png")
    W1 = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv_a"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu_a"),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool_a")]
    model = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("p1", TensorProto.FLOAT, ["n", 6, "h2", "w2"])],
        [numpy_helper.from_array(W1, "W1")]), opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "mine.onnx"))
    base = ["topk", "--model", tmp_path / "mine.onnx", "--images", tmp_path / "photos", "--layer", "pool_a",
            "--maps", "2", "--out", tmp_path / "f"]
    done = _run(*base, cwd=tmp_path)
    assert done.returncode == 2 and "--input-size" in done.stderr and "Traceback" not in done.stderr
    done = _run(*base, "--input-size", "32", cwd=tmp_path)
    assert done.returncode == 2 and "--mean" in done.stderr
    done = _run(*base, "--input-size", "32", "--mean", "0.5,0.5,0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f" / "top9_pool_a.png").is_file()


@pytest.mark.parametrize("ceil, include", [(False, True), (True, False), (False, False)])
def test_average_pools_in_and_out_match_onnxruntime(tmp_path, ceil, include):
    from minizf import AdaptiveAvgPool2D, AvgPool2D, Conv2D, Flatten, ReLU, Sequential
    net = Sequential([("conv1", Conv2D(3, 4, 3, pad=1)), ("relu1", ReLU()),
                      ("pool1", AvgPool2D(3, 2, 1, ceil, include)), ("gap", AdaptiveAvgPool2D(1)),
                      ("flatten", Flatten())], input_shape=(3, 11, 12))
    path = save_onnx(net, tmp_path / "avg.onnx", np.zeros((3, 11, 12), np.float32))
    x = np.random.default_rng(8).standard_normal((2, 3, 11, 12)).astype(np.float32)
    np.testing.assert_allclose(run_ort(path, x), net.forward(x), rtol=1e-5, atol=1e-6)
    back, _, _ = load_onnx(path)
    assert [type(l).__name__ for _, l in back] == ["Conv2D", "ReLU", "AvgPool2D", "AdaptiveAvgPool2D", "Flatten"]
    np.testing.assert_allclose(back.forward(x), net.forward(x), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_pytorch_users_model_gets_every_figure_with_one_command_each(tmp_path):
    """An AlexNet-like nn.Sequential with random weights, exported by PyTorch's own exporter:
    topk, occlude and explore each run on the .onnx file in one command."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 16, 7, stride=2, padding=3), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
                      nn.Conv2d(16, 24, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
                      nn.Conv2d(24, 32, 3, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(32, 24, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True)),
        nn.AdaptiveAvgPool2d((4, 4)), nn.Flatten(), nn.Dropout(), nn.Linear(24 * 16, 64), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(64, 10)).eval()
    path = tmp_path / "alexnet_like.onnx"
    try:
        torch.onnx.export(model, (torch.randn(1, 3, 64, 64),), str(path), input_names=["input"],
                          dynamic_axes={"input": {0: "batch"}}, dynamo=False)
    except Exception as err:                   # noqa: BLE001 - the exporter's own dependencies
        pytest.skip(f"torch.onnx.export unavailable here: {err}")
    common = ["--model", path, "--input-size", "64", "--mean", "0.46,0.46,0.43", "--out", tmp_path / "out"]
    for argv in (["topk", "--maps", "2", *common],
                 ["occlude", ROOT / "data" / "samples" / "chelsea.jpg", "--layer", "relu5", *common],
                 ["explore", "--images", "30", "--layers", "conv5", "--quiet", *common[:-1], tmp_path / "site"]):
        done = _run(*argv, cwd=tmp_path)
        assert done.returncode == 0, (argv[0], done.stderr[-2000:])
    assert (tmp_path / "out" / "top9_conv5.png").is_file() and (tmp_path / "out" / "occlusion_chelsea.png").is_file()
    assert (tmp_path / "site" / "conv5.html").is_file()            # a site gets a folder of its own


def test_paper_layers_of_a_foreign_model():
    from minizf.analysis.invariance import paper_layers
    from minizf.interop.onnx import paper_names
    from minizf import Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential
    layers = [Conv2D(3, 4, 3), ReLU(), MaxPool2D(2), Flatten(), Linear(4, 5), ReLU(), Linear(5, 2)]
    names = paper_names(layers)
    assert names == ["conv1", "relu1", "pool1", "flatten", "fc2", "relu2", "fc3"]
    assert paper_layers(Sequential(list(zip(names, layers)))) == ("pool1", "relu2")
    net, _, _ = bundled_model("zf64")
    assert paper_layers(net) == ("norm1", "relu7")


def test_uneven_pads_are_exported_begin_then_end(tmp_path):
    # ONNX pads are (h_begin, w_begin, h_end, w_end); with ph != pw every layer's order shows.
    import minizf as mz
    net = mz.Sequential([("conv1", mz.Conv2D(3, 4, 3, pad=(1, 2))), ("relu1", mz.ReLU()),
                         ("pool1", mz.MaxPool2D(3, 2, pad=(0, 1))), ("avg1", mz.AvgPool2D(3, 1, pad=(1, 0)))])
    path = save_onnx(net, tmp_path / "pads.onnx", input_shape=(3, 9, 10))
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 10)).astype(np.float32)
    np.testing.assert_allclose(run_ort(path, x), net.forward(x), rtol=1e-5, atol=1e-5)
    back, _, _ = load_onnx(path)
    assert back["conv1"].pad == (1, 2) and back["pool1"].pad == (0, 1)


def test_an_lrn_node_without_bias_uses_onnxs_default_of_1(tmp_path):
    node = helper.make_node("LRN", ["x"], ["y"], size=3, alpha=0.6, beta=0.75)      # no bias: ONNX says 1
    path = tmp_path / "lrn.onnx"
    onnx.save(graph_of([node], {}, (2, 3, 12, 12)), str(path))
    net, _, _ = load_onnx(path)
    x = np.random.default_rng(5).standard_normal((2, 3, 12, 12)).astype(np.float32)
    assert net[net.names[0]].k == 1.0
    np.testing.assert_allclose(net.forward(x), run_ort(path, x), rtol=1e-5, atol=1e-6)


def test_a_1d_convolution_and_an_empty_graph_are_named(tmp_path):
    conv = helper.make_node("Conv", ["x", "W"], ["y"], kernel_shape=[3], name="c1d")
    model = helper.make_model(helper.make_graph(
        [conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6])],
        [numpy_helper.from_array(np.ones((4, 3, 3), np.float32), "W")]), opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "c1d.onnx"))
    with pytest.raises(ValueError, match="1-D convolution"):
        load_onnx(tmp_path / "c1d.onnx")
    empty = helper.make_model(helper.make_graph(
        [], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]), opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(empty, str(tmp_path / "empty.onnx"))
    with pytest.raises(ValueError, match="empty.onnx: the graph holds no layers"):
        load_onnx(tmp_path / "empty.onnx")
