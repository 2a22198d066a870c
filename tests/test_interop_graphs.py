"""ResNet-18 and SqueezeNet 1.1 (torchvision's layouts, random weights) exported by PyTorch's default
(dynamo) exporter and by the TorchScript one: loaded as Graphs named after their modules, equal to
onnxruntime, and projected by minizf's three reverse rules exactly as Captum does on the PyTorch
model. Skipped without torch, onnx and onnxruntime (and Captum for the projections)."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from minizf import Graph  # noqa: E402
from minizf.interop.onnx import load_onnx  # noqa: E402

from .torch_models import ResNet18, SqueezeNet11, randomized  # noqa: E402

MODELS = {"resnet18": ResNet18, "squeezenet1_1": SqueezeNet11}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{(model, dynamo): (path, PyTorch module)}, exported once for the module's tests."""
    folder, found = tmp_path_factory.mktemp("exported"), {}

    def get(name, dynamo):
        if (name, dynamo) not in found:
            model = randomized(MODELS[name](), seed=1)
            path = folder / f"{name}_{'dynamo' if dynamo else 'torchscript'}.onnx"
            found[name, dynamo] = export(model, path, dynamo), model
        return found[name, dynamo]
    return get


def export(model, path, dynamo):
    """``model`` written to ``path`` at 224 px by one of PyTorch's two exporters (skips without it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=dynamo,
                              input_names=["input"], output_names=["output"], verbose=False)
        except Exception as err:          # noqa: BLE001 - the exporter's own dependencies (onnxscript)
            pytest.skip(f"torch.onnx.export(dynamo={dynamo}) unavailable here: {err}")
    return path


def run_ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name,layers", [
    ("resnet18", ["conv1", "layer1.0.conv1", "layer1.0.add", "layer1.0.relu_1", "layer3.1.conv2",
                  "layer2.0.downsample.0", "fc"]),
    ("squeezenet1_1", ["features.0", "features.3.squeeze", "features.3.expand3x3", "features.3.concat",
                       "classifier.1"])])
def test_exported_graphs_load_with_module_names_and_equal_onnxruntime(exported, name, layers, dynamo):
    path, _ = exported(name, dynamo)
    net, mean, meta = load_onnx(path)
    assert isinstance(net, Graph) and mean is None and net.input_shape == (3, 224, 224)
    for layer in layers:
        assert layer in net, (layer, net.names)
    x = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    theirs = run_ort(path, x)
    np.testing.assert_allclose(net.forward(x), theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.slow
@pytest.mark.parametrize("rule,method", [("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop"),
                                         ("gradient", "Saliency")])
def test_projections_through_resnet18_equal_captum(exported, rule, method):
    captum_attr = pytest.importorskip("captum.attr")
    import copy
    path, model = exported("resnet18", False)
    # in float64 on both sides (the same float32 weights, widened exactly): in float32 a pre-activation
    # within round-off of 0 can fall on either side of a ReLU in the two libraries, and the guided and
    # gradient rules then differ over that unit's whole field (seen: 3% of pixels, 4e-4 of the peak)
    net, _, _ = load_onnx(path)
    net.astype("float64")
    model = copy.deepcopy(model).double()
    x = np.random.default_rng(3).standard_normal((1, 3, 224, 224))
    target = 7
    net.forward(x, upto="fc")
    signal = np.zeros((1, 1000))
    signal[0, target] = 1.0
    ours = net.reverse(signal, "fc", rule=rule)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = getattr(captum_attr, method)(model)
        options = {"abs": False} if method == "Saliency" else {}
        theirs = explainer.attribute(torch.tensor(x, requires_grad=True), target=target, **options).detach().numpy()
    assert np.abs(theirs).max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


def test_a_graph_goes_to_onnx_and_to_a_model_file_and_back(tmp_path):
    from minizf.interop.onnx import save_onnx
    from minizf.modelfile import load_model, save_model

    from .test_graph import residual_net
    net = residual_net(5)
    x = np.random.default_rng(6).standard_normal((2, 3, 8, 8)).astype(np.float32)
    mean = np.zeros((3, 8, 8), np.float32)
    save_onnx(net, tmp_path / "g.onnx", mean, {"classes": list("abcde")})
    np.testing.assert_allclose(run_ort(tmp_path / "g.onnx", x), net.forward(x), rtol=1e-5, atol=1e-6)
    back, back_mean, meta = load_onnx(tmp_path / "g.onnx")
    assert back.names == net.names and back.inputs == net.inputs and meta["classes"] == list("abcde")
    np.testing.assert_allclose(back.forward(x), net.forward(x), rtol=1e-6)
    save_model(tmp_path / "g.npz", net, mean, {"model": "my-resnet"})
    loaded, _, _ = load_model(tmp_path / "g.npz")
    assert isinstance(loaded, Graph) and loaded.inputs == net.inputs
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))


def test_std_folded_into_the_first_conv_is_the_standardised_model(tmp_path):
    from argparse import Namespace

    from minizf.commands.common import with_model_options
    model = randomized(SqueezeNet11(), seed=4)
    path = tmp_path / "sq.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 96, 96),), str(path), dynamo=False, input_names=["input"])
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    net, mean_image, _ = with_model_options(*load_onnx(path), Namespace(model=str(path), mean=mean, std=std))
    x = np.random.default_rng(7).uniform(0, 1, (2, 3, 96, 96)).astype(np.float32)
    standardised = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    with torch.no_grad():
        theirs = model(torch.tensor(standardised)).numpy()
    np.testing.assert_allclose(net.forward(x - mean_image), theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.slow
def test_every_figure_command_runs_on_an_exported_graph_at_224_px(exported, tmp_path):
    import subprocess
    import sys
    path, _ = exported("squeezenet1_1", True)
    (tmp_path / "classes.txt").write_text("\n".join(f"class{k}" for k in range(1000)))
    common = ["--model", str(path), "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
              "--classes", str(tmp_path / "classes.txt")]

    def run(*argv):
        done = subprocess.run([sys.executable, "-m", "minizf.cli", *argv, *common], capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, (argv, done.stderr[-2000:])
        return done.stdout
    assert "enlarged to 224 px" in run("topk", "--layer", "layer5", "--maps", "1", "--out", str(tmp_path / "t"))
    run("occlude", "english_springer/n02102040_1100.jpg", "--size", "40", "--stride", "28", "--out", str(tmp_path / "o"))
    assert "Fig. 5" in run("invariance", "--out", str(tmp_path / "i"))
    run("explore", "--images", "12", "--layers", "features.3.squeeze_activation", "--quiet", "--out", str(tmp_path / "e"))
    run("tour", "--images", "12", "--maps", "1", "--quiet", "--out", str(tmp_path / "tour"))
    page = (tmp_path / "tour" / "index.html").read_text()
    assert "Not made for this model: the model file holds no training history" in page and "Fig. 7" in page


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_squeezenet_with_torchvisions_zero_biases_loads_from_both_exporters(dynamo, tmp_path):
    # torchvision initialises SqueezeNet's conv biases to 0; the TorchScript exporter then writes one
    # zero initializer and an Identity of it for every other conv (18 of them)
    import onnx
    model = randomized(SqueezeNet11(), seed=3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.bias.zero_()
    path = export(model, tmp_path / "squeezenet.onnx", dynamo)
    identities = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Identity"]
    assert dynamo or len(identities) > 10
    net, _, _ = load_onnx(path)
    x = np.random.default_rng(4).standard_normal((1, 3, 224, 224)).astype(np.float32)
    theirs = run_ort(path, x)
    np.testing.assert_allclose(net.forward(x), theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())
