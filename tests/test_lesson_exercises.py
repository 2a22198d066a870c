"""The lessons as a student gets them: listed, fetched as scripts and notebooks, and checked exercise by
exercise. Every exercise's check fails on a typical mistake, with its hint; an untouched copy reports
every exercise "not written" and exits non-zero; the notebooks are valid and run."""
import re
import subprocess
import sys

import pytest

from minizf.tutor import catalog
from minizf.tutor.checking import run_copy

#: (lesson, exercise, a typical mistake as the function's body, words of the hint it must get)
MISTAKES = [
    (1, "conv_output_size", "return (size + pad - kernel) // stride + 1", "padding is on both sides"),
    (1, "conv_by_im2col", "import minizf.functional as F\n    N = x.shape[0]\n    cols, oh, ow = F.im2col(x, W.shape[2], "
     "W.shape[3], stride, pad)\n    out = cols @ F.filter_matrix(W) + b\n    return out.reshape(N, W.shape[0], oh, ow)",
     "reshape to (N, OH, OW, F) first"),
    (2, "central_difference", "old = x.flat[i]\n    x.flat[i] = old + eps\n    plus = f()\n    x.flat[i] = old - eps\n"
     "    minus = f()\n    return (plus - minus) / (2 * eps)", "put the old value back exactly"),
    (2, "linear_backward_by_hand", "return dy @ W, dy.T @ x, dy.mean(axis=0)", "a mean instead of a sum"),
    (3, "reverse_relu", "import numpy as np\n    keep = x >= 0 if rule == 'gradient' else signal > 0\n"
     "    return np.where(keep, signal, 0) if rule != 'guided' else np.where((x > 0) & (signal > 0), signal, 0)",
     "x = 0 is not"),
    (3, "unpool_by_hand", "import numpy as np\n    n, c, h, w = shape\n    out = np.zeros((n * c, h * w))\n"
     "    rows = np.repeat(np.arange(n * c), pooled[0, 0].size)\n    out[rows, switches.reshape(-1)] = pooled.reshape(-1)\n"
     "    return out.reshape(shape)", "add them"),
    (4, "renormalize", "import numpy as np\n    rms = np.sqrt((W.reshape(len(W), -1) ** 2).mean(axis=1))\n"
     "    return W * (radius / rms)[:, None, None, None]", "scale only the filters above the radius"),
    (6, "snapshot_similarity", "import numpy as np\n    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])",
     "not the whole arrays"),
    (6, "settled_at", "for i in range(len(similarity)):\n        if similarity[i] >= threshold:\n"
     "            return epochs[i]\n    return None", "every later step"),
    (9, "occluded_copies", "import numpy as np\n    _, h, w = image.shape\n    rows, cols = np.arange(0, h - size, stride), "
     "np.arange(0, w - size, stride)\n    batch = np.repeat(image[None], len(rows) * len(cols), axis=0)\n"
     "    for k, (r, c) in enumerate((r, c) for r in rows for c in cols):\n"
     "        batch[k, :, r:r + size, c:c + size] = np.asarray(fill)[:, None, None]\n    return batch, rows, cols",
     "+ 1, not past the edge"),
    (9, "fall_where_map_falls", "return float(prob.min() / prob_clean)", "not prob's own minimum"),
    (10, "delta", "import numpy as np\n    s = np.sign(eps)\n    n = len(s)\n"
     "    return float(np.mean([(s[i] != s[j]).mean() for i in range(n) for j in range(n)]))", "not i == j"),
    (10, "random_box", "return int(rng.integers(0, side - size)), int(rng.integers(0, side - size))",
     "the upper bound is exclusive"),
    (4, "momentum_step", "v = momentum * velocity - lr * (grad + weight_decay * param)\n    return param + velocity, v",
     "the new velocity, not the old one"),
    (5, "merge_top", "import numpy as np\n    return (np.concatenate([values, batch_values])[:k], "
     "np.concatenate([images, batch_images])[:k])", "order them by value"),
    (5, "receptive_box", "top, left = i * jump + offset, j * jump + offset\n    return top, top + size, left, left + size",
     "top = i * jump - offset"),
    (7, "relative_distance", "import numpy as np\n    return float(np.linalg.norm(f - f0) / np.linalg.norm(f))",
     "divided by the norm of the original"),
    (7, "shift_down", "import numpy as np\n    return np.roll(image, dy, axis=1)", "take fill"),
    (8, "stack_field", "size, jump, offset = 1, 1, 0\n    for kernel, stride, pad in layers:\n"
     "        jump *= stride\n        size += (kernel - 1) * jump\n        offset += pad * jump\n"
     "    return size, jump, offset", "the jump so far"),
    (8, "folded_share", "import numpy as np\n    W = np.asarray(W, float)\n    power = np.abs(np.fft.fft2(W, s=(32, 32))) "
     "** 2\n    f = np.abs(np.fft.fftfreq(32))\n    folded = (f[:, None] > 1 / stride) | (f[None, :] > 1 / stride)\n"
     "    return float(power.sum(axis=(0, 1))[folded].sum() / power.sum())", "1 / (2 stride)"),
    (11, "pool_to_grid_by_hand", "n, c, h, w = maps.shape\n    return maps.reshape(n, c, grid, h // grid, grid, "
     "w // grid).mean(axis=(2, 4))", "not the blocks themselves"),
    (11, "standardize", "return ((train_x - train_x.mean(0)) / train_x.std(0), (test_x - test_x.mean(0)) / "
     "test_x.std(0))", "the test set must not be looked at"),
    (12, "parameter_count", "return sum(l[1] * l[2] * (l[3] ** 2 if l[0] == 'conv' else 1) for l in layers)",
     "plus out biases"),
    (12, "top1_error", "import numpy as np\n    return float(np.mean(scores.argmax(axis=0)[:len(labels)] != labels))",
     "argmax over the classes (axis 1)"),
    (13, "per_class_split", "import numpy as np\n    train, test = [], []\n    for c in np.unique(labels):\n"
     "        members = rng.permutation(np.flatnonzero(labels == c))\n        train.append(members[:per_class])\n"
     "        test.append(members[:test_per_class])\n    return np.sort(np.concatenate(train)), "
     "np.sort(np.concatenate(test))", "never the same image twice"),
    (13, "mean_class_accuracy_by_hand", "import numpy as np\n    return float(np.mean(np.asarray(predictions) == "
     "np.asarray(labels)))", "not the accuracy over all images"),
    (14, "linear_from_matmul", "return W_onnx.reshape(W_onnx.shape[1], W_onnx.shape[0]), b", "the transpose"),
    (14, "fold_std", "import numpy as np\n    return W / np.asarray(std).reshape(-1, 1, 1, 1)", "axis 1"),
    (15, "concat_backward_by_hand", "parts, start = [], 0\n    for c in channels:\n        parts.append(dy[:, start:start + c])"
     "\n        start = c\n    return parts", "a running start += c"),
    (15, "residual_backward", "return dy @ W", "the sum of both paths"),
    (16, "shard_of", "base = batch // size\n    return rank * base, (rank + 1) * base", "one more"),
    (16, "shard_weight", "return 1 / 4", "not 1 / size"),
]


def minizf(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "minizf.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=900)


def test_the_list_names_every_lesson_with_its_time_and_exercises():
    done = minizf("lesson", "list")
    assert done.returncode == 0, done.stderr
    for lesson in catalog.lessons():
        assert f"{lesson.number:2d}  {lesson.title}  ({lesson.run_time})" in done.stdout
        assert lesson.run_time and lesson.title
    assert catalog.find("2").exercises == ["central_difference", "linear_backward_by_hand"]
    assert {(n, e) for n, e, _, _ in MISTAKES} == {(l.number, e) for l in catalog.lessons() for e in l.exercises}


#: Lessons that train networks (even in their quick form): their runs are left out of `pytest -m "not slow"`.
TRAINING = (4, 11, 12, 13)


def _maybe_slow(number, *values, id=None):
    marks = [pytest.mark.slow] if number in TRAINING else []
    return pytest.param(number, *values, marks=marks, id=id)


@pytest.mark.parametrize("number", [_maybe_slow(n, id=str(n)) for n in sorted({n for n, *_ in MISTAKES})])
def test_an_untouched_copy_reports_every_exercise_not_written(number, tmp_path):
    lesson = catalog.find(number)
    done = minizf("lesson", "get", number, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / f"{lesson.name}.py"
    assert copy.read_text() == lesson.path.read_text()
    done = minizf("lesson", "check", copy)
    assert done.returncode == 1, done.stdout + done.stderr
    for exercise in lesson.exercises:
        assert re.search(rf"^{exercise} +not written$", done.stdout, re.M), done.stdout
    assert f"0 of {len(lesson.exercises)} exercises passed" in done.stdout


def _planted(lesson, exercise, body, folder):
    """A student's copy of the lesson whose ``exercise`` has ``body``."""
    text = lesson.path.read_text()
    stub = re.search(rf"(def {exercise}\([^)]*\):\n)    raise NotImplementedError[^\n]*\n", text)
    assert stub, exercise
    copy = folder / f"{lesson.name}.py"
    copy.write_text(text[:stub.start()] + stub.group(1) + "    " + body + "\n" + text[stub.end():])
    return copy


@pytest.mark.parametrize("number, exercise, body, hint", [_maybe_slow(*m, id=m[1]) for m in MISTAKES])
def test_a_typical_mistake_fails_its_check_with_its_hint(number, exercise, body, hint, tmp_path):
    lesson = catalog.find(number)
    outcomes = {o.exercise: o for o in run_copy(_planted(lesson, exercise, body, tmp_path))}
    assert outcomes[exercise].status == "failed" and hint in outcomes[exercise].why, outcomes[exercise]
    assert all(o.status == "not written" for name, o in outcomes.items() if name != exercise), outcomes


def test_the_solutions_pass_when_written_in(tmp_path):
    lesson = catalog.find(16)
    copy = _planted(lesson, "shard_weight", "return (hi - lo) / batch", tmp_path)
    outcomes = {o.exercise: o.status for o in run_copy(copy)}
    assert outcomes == {"shard_of": "not written", "shard_weight": "passed"}


def test_a_copy_is_never_replaced_unless_forced(tmp_path):
    assert minizf("lesson", "get", 15, "--out", tmp_path).returncode == 0
    mine = tmp_path / "15_graphs.py"
    mine.write_text(mine.read_text() + "# my notes\n")
    done = minizf("lesson", "get", 15, "--out", tmp_path)
    assert done.returncode == 2 and "is not the lesson as shipped" in done.stderr and "Traceback" not in done.stderr
    assert mine.read_text().endswith("# my notes\n")
    assert minizf("lesson", "get", 15, "--out", tmp_path, "--force").returncode == 0
    for argv, words in [(["get", "99"], "no lesson '99'"), (["check", tmp_path / "none.py"], "no such file"),
                        (["get"], "say which")]:
        done = minizf("lesson", *argv)
        assert done.returncode == 2 and words in done.stderr, done.stderr


@pytest.mark.parametrize("lesson", [pytest.param(l, marks=pytest.mark.slow) if l.number in TRAINING else l
                                    for l in catalog.lessons()], ids=[l.name for l in catalog.lessons()])
def test_every_lesson_runs_as_a_notebook(lesson, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    done = minizf("lesson", "get", lesson.number, "--out", tmp_path, "--format", "ipynb")
    assert done.returncode == 0, done.stderr
    path = tmp_path / f"{lesson.name}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    monkeypatch.setenv("MINIZF_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MINIZF_OUT", str(tmp_path / "out"))
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert list((tmp_path / "out").glob("*.png"))
    if lesson.exercises:                            # the notebook checks like the script
        done = minizf("lesson", "check", path)
        assert done.returncode == 1 and f"0 of {len(lesson.exercises)} exercises passed" in done.stdout


def test_the_lessons_page_lists_every_exercise_and_run_time():
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "lessons.md").read_text()
    for lesson in catalog.lessons():
        assert len(lesson.exercises) >= 2, lesson.name
        assert lesson.run_time.replace(" on a 2-core CPU", "") in page, lesson.name
        for exercise in lesson.exercises:
            assert f"`{exercise}`" in page, exercise
