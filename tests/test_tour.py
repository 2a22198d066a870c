"""`minizf tour` end to end on the bundled model and images (fewer images than the default)."""
import html
import json
import re
import subprocess
import sys

import pytest

from minizf.data import ASSETS

from .test_data import make_cifar


@pytest.mark.slow
@pytest.mark.skipif(not (ASSETS / "zf_small.npz").exists(), reason="no bundled model")
def test_tour_writes_every_figure_and_an_index(tmp_path):
    out = tmp_path / "tour"
    explorer = out / "explore"                       # a unit explorer made first: the tour keeps it
    explorer.mkdir(parents=True)
    (explorer / "index.html").write_text("explorer page")
    (explorer / ".minizf-site").write_text("")
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "tour", "--out", str(out), "--images", "60",
                           "--maps", "2", "--quiet"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    index = (out / "index.html").read_text()
    assert (explorer / "index.html").read_text() == "explorer page" and "href='explore/index.html'" in index
    for figure in ("Fig. 2", "Fig. 4", "Fig. 5", "Fig. 6", "Fig. 7", "Table 1", "Sec. 3"):
        assert figure in index
    assert index.count("Verdict: ") == 6 and index.count("<b>Paper:</b>") == 6    # every figure but Sec. 3
    assert re.search(r"\d of 6 of the paper's claims hold at this scale", html.unescape(index))
    images = re.findall(r'<img src="([^"]+)"', index)
    assert len(images) >= 9
    for name in images:
        assert (out / name).stat().st_size > 5000, name


def test_figure_commands_have_help_naming_the_paper():
    for command, figure in [("topk", "Fig. 2"), ("occlude", "Fig. 7"), ("invariance", "Fig. 5"),
                            ("evolution", "Fig. 4"), ("correspondence", "Table 1"), ("filters", "Fig. 6"),
                            ("features", "Table 7"), ("ablation", "Table 3"), ("transfer", "Fig. 9")]:
        out = subprocess.run([sys.executable, "-m", "minizf.cli", command, "--help"], capture_output=True,
                             text=True)
        assert out.returncode == 0 and figure in out.stdout, command


@pytest.mark.skipif(not (ASSETS / "zf_small.npz").exists(), reason="no bundled model")
def test_occlude_command_on_a_photo(tmp_path):
    cifar = ["--model", str(ASSETS / "zf_small.npz")]
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "occlude", str(ASSETS / "samples" / "chelsea.jpg"),
                           "--label", "cat", "--out", str(tmp_path)] + cifar, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "occlusion_chelsea.png").stat().st_size > 5000
    assert "guess" not in done.stdout and "paper:" in done.stdout
    guessed = subprocess.run([sys.executable, "-m", "minizf.cli", "occlude", str(ASSETS / "samples" / "rocket.jpg"),
                              "--out", str(tmp_path)] + cifar, capture_output=True, text=True)
    assert guessed.returncode == 0, guessed.stderr
    assert "no --label given: using the network's guess" in guessed.stdout


@pytest.mark.skipif(not (ASSETS / "zf_small.npz").exists(), reason="no bundled model")
def test_features_command_on_a_small_cifar_folder(tmp_path):
    make_cifar(tmp_path / "cifar-10-batches-py", per_batch=12)
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "features", "--data", str(tmp_path),
                           "--layers", "relu2,relu5,relu7", "--train", "40", "--test", "12", "--epochs", "3",
                           "--model", str(ASSETS / "zf_small.npz"), "--classifier", "svm",
                           "--json", str(tmp_path / "f.json"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert re.search(r"relu7\s+[01]\.\d{3}\s+[01]\.\d{3}", done.stdout), done.stdout
    assert (tmp_path / "out" / "features.png").stat().st_size > 5000
    table = json.loads((tmp_path / "f.json").read_text())
    assert table["classifier"] == "svm" and list(table["layers"]) == ["relu2", "relu5", "relu7"]
    assert "Table 7. paper:" in done.stdout


def test_ablation_command_on_a_small_cifar_folder(tmp_path):
    make_cifar(tmp_path / "cifar-10-batches-py", per_batch=8)
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "ablation", "--data", str(tmp_path),
                           "--variants", "no-7,full", "--epochs", "1", "--batch-size", "16", "--quiet",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # zf_small's parameters, layer by layer (weights + biases):
    # conv 3*64*9+64, 64*128*9+128, 128*192*9+192, 192*192*9+192, 192*128*9+128; fc 2048*512+512,
    # 512*512+512, 512*10+10: 1,792 + 73,856 + 221,376 + 331,968 + 221,312 + 1,049,088 + 262,656 + 5,130.
    assert re.search(r"full\s+2,167,178\s+[01]\.\d{3}\s+[01]\.\d{3}", done.stdout), done.stdout
    assert done.stdout.index("full ") < done.stdout.index("no-7 ")          # the paper's order
    assert (tmp_path / "out" / "ablation.png").stat().st_size > 5000
    assert '"no-7"' in (tmp_path / "out" / "ablation.json").read_text()


@pytest.mark.skipif(not (ASSETS / "zf_small.npz").exists(), reason="no bundled model")
def test_transfer_command_on_an_image_folder(tmp_path):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for c, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):      # Caltech layout
        (tmp_path / "images" / f"class{c}").mkdir(parents=True)
        for i in range(8):
            pixels = (rng.random((40, 48, 3)) * 60 + np.array(color) * 0.7).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / f"class{c}" / f"{i}.png")
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "transfer", "--images", str(tmp_path / "images"),
                           "--per-class", "2,4", "--folds", "2", "--test-per-class", "3", "--scratch-epochs", "2",
                           "--classifiers", "softmax,svm", "--json", str(tmp_path / "t.json"), "--quiet",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = json.loads((tmp_path / "out" / "transfer.json").read_text())
    assert table == json.loads((tmp_path / "t.json").read_text())
    rows = table["rows"]
    assert [row["per_class"] for row in rows] == [2, 4]
    keys = {"relu5 softmax", "relu5 svm", "relu7 softmax", "relu7 svm"}
    assert all(set(row["pretrained"]) == keys and len(row["scratch"]["folds"]) == 2 for row in rows)
    for row in rows:
        for probe in row["pretrained"].values():
            assert len(probe["folds"]) == 2 and probe["mean"] == np.mean(probe["folds"])
    assert rows[1]["pretrained"]["relu7 softmax"]["mean"] > 0.9      # three plain colours: easy for layer 7
    assert table["verdicts"][0]["figure"] == "Table 4, Fig. 9"
    assert "relu7 softmax" in done.stdout and "from scratch" in done.stdout
    assert (tmp_path / "out" / "transfer.png").stat().st_size > 5000


def test_tour_refuses_a_folder_it_did_not_write_before_any_work(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "tour", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "did not write" in done.stderr and done.stderr.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_topk_and_the_explorer_take_fully_connected_units(tmp_path):
    import json
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "topk", "--layer", "relu7", "--maps", "2",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "top9_relu7.png").stat().st_size > 5000
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "explore", "--layers", "layer7", "--images", "40",
                           "--quiet", "--out", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "site" / "relu7.html").read_text()
    data = json.loads(page.split('<script type="application/json" id="data">')[1].split("</script>")[0])
    assert data["layer"] == "relu7" and len(data["units"]) == 512
    assert (tmp_path / "site" / "relu7" / "u511_p8.png").exists()


def test_a_long_model_path_is_named_by_its_file_in_titles():
    from minizf.figures import describe, short_name
    from minizf import models
    long = "onnx:/" + "/".join(["a_folder_with_a_long_name"] * 8) + "/resnet18.onnx"
    assert short_name({"model": long}) == "resnet18.onnx" and short_name({"model": "zf64"}) == "zf64"
    assert describe(models.zf64(), {"model": long}) == "resnet18.onnx (conv1 7x7/2)"
