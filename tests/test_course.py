"""Coursework: assignments made from the library, and a grader that cannot be fooled.

The bank of wrong solutions: each bug is an edit of a correct loop submission
(tests/bank/NAME.py, written independently of minizf's code); the grader must
take points off the test that names the bug, and say the hint where the bug
is a known pattern. The reference (--solution), the loop versions and the
stubs fix the ends of the scale: full marks, full marks, zero.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from minizf.course import ASSIGNMENTS, make
from minizf.course.grader import grade
from minizf.course.sandbox import why_not_bwrap
from minizf.course.static import forbidden

BANK = Path(__file__).resolve().parent / "bank"
NAMES = list(ASSIGNMENTS)
SANDBOX = "auto" if why_not_bwrap() is None else "none"    # the OS sandbox where this machine has one

# (assignment, bug, old text, new text, the test that must fail (start of its name), hint words or None)
BUGS = [
    # conv
    ("conv", "im2col lists channels first (CS231n's order)", "window.transpose(1, 2, 0).ravel()", "window.ravel()",
     "im2col, 3x3 stride 1", "channel-first"),
    ("conv", "col2im overwrites overlapping windows", "+= patch", "= patch",
     "col2im, 3x3 stride 1", "must ADD"),
    ("conv", "bias gradient averaged", "db = dy_rows.sum(axis=0)", "db = dy_rows.mean(axis=0)",
     "conv2d_backward, 3x3", "db is a mean"),
    ("conv", "filters flipped in the input gradient",
     "dx = col2im(dy_rows @ W.transpose(0, 2, 3, 1)", "dx = col2im(dy_rows @ W[:, :, ::-1, ::-1].transpose(0, 2, 3, 1)",
     "conv2d_backward, 3x3", "flipped filters"),
    ("conv", "padding cropped on one side only", "return out[:, :, ph:ph + H, pw:pw + W]",
     "return out[:, :, :H, :W]", "col2im, 3x3 stride 1 pad 1", None),
    ("conv", "forward 2x too large with a matching backward", "    return y.reshape(N, oh, ow, F)",
     "    return 2 * y.reshape(N, oh, ow, F)", "conv2d forward", None),
    ("conv", "conv2d_backward delegates to minizf", "    F, C, kh, kw = W.shape\n    dy_rows",
     "    from minizf.functional import conv2d_backward as ref\n    return ref(dy, x, W, stride, pad, input_grad)\n"
     "    F, C, kh, kw = W.shape\n    dy_rows", "conv2d_backward, 3x3", "not allowed"),
    ("conv", "conv2d reaches minizf through importlib", "    N = x.shape[0]\n    F, C, kh, kw = W.shape\n",
     "    import importlib\n    return importlib.import_module('minizf.functional').conv2d(x, W, b, stride, pad)\n",
     "conv2d forward", "not allowed"),
    # pool
    ("pool", "ties go to the last maximum", "x[n, ch, h, w] > best", "x[n, ch, h, w] >= best",
     "max_pool2d, 2x2 stride 2, inputs with ties", "FIRST maximum"),
    ("pool", "unpool overwrites shared switches", "out[n, ch, int(where)] += ", "out[n, ch, int(where)] = ",
     "unpool, 3x3 stride 2", "must ADD"),
    ("pool", "ceil mode ignored", "    if ceil_mode:", "    if False:", "max_pool2d, 3x3 stride 2, ceil mode",
     "ceil_mode"),
    ("pool", "zero padding in max-pooling",
     "if 0 <= h < H and 0 <= w < W and x[n, ch, h, w] > best:\n                                best, where = "
     "x[n, ch, h, w], h * W + w",
     "value = x[n, ch, h, w] if 0 <= h < H and 0 <= w < W else 0.0\n                            if value > best:"
     "\n                                best, where = value, h * W + w",
     "max_pool2d, 3x3 stride 2 pad 1", "pad with -inf"),
    ("pool", "switches index the window, not the plane", "best, where = x[n, ch, h, w], h * W + w",
     "best, where = x[n, ch, h, w], i * kw + j", "max_pool2d, 2x2 stride 2, tie-free", "inside its window"),
    ("pool", "switches index the padded plane", "best, where = x[n, ch, h, w], h * W + w",
     "best, where = x[n, ch, h, w], (h + ph) * (W + 2 * pw) + (w + pw)", "max_pool2d, 3x3 stride 2 pad 1",
     "unpadded input"),
    ("pool", "switches transposed (w*H + h)", "best, where = x[n, ch, h, w], h * W + w",
     "best, where = x[n, ch, h, w], w * H + h", "max_pool2d, 2x2 stride 2, tie-free", "yours are w*H + h"),
    ("pool", "torch imported at the top", "import numpy as np\n", "import numpy as np\nimport torch\n",
     "max_pool2d, 2x2 stride 2", "not allowed"),
    # lrn
    ("lrn", "Caffe's alpha / size", "s[:, i] = k + alpha * ", "s[:, i] = k + alpha / size * ",
     "lrn, size 5, alpha 0.1", "Caffe"),
    ("lrn", "backward without the cross-channel term", "    for j in range(C):", "    for j in range(0):",
     "lrn_backward, size 3, beta 0.5, tiny inputs", "only the diagonal term"),
    ("lrn", "backward keeps only the j = i term of the cross-channel sum", "for i in range(lo, hi + 1):",
     "for i in (j,):", "lrn_backward, size 5, alpha 0.1", "only the j = i term"),
    ("lrn", "even window turned the wrong way", "max(0, i - size // 2), min(C - 1, i + (size - 1) // 2)",
     "max(0, i - (size - 1) // 2), min(C - 1, i + size // 2)", "lrn, size 4", "even size"),
    ("lrn", "backward exponent off by one", "s[:, j] ** (-beta - 1)", "s[:, j] ** (-beta)",
     "lrn_backward, size 5, alpha 0.1", None),
    ("lrn", "window not clipped at the first channel", "return max(0, i - size // 2)", "return i - size // 2",
     "lrn, size 5, alpha 0.1", None),
    ("lrn", "k taken as 1", "s[:, i] = k + alpha", "s[:, i] = 1.0 + alpha", "lrn, size 5, the paper's", None),
    # layers
    ("layers", "ReLU backward passes the gradient at x = 0", "np.where(x > 0, dy, 0.0)",
     "np.where(x >= 0, dy, 0.0)", "relu_backward", "x >= 0"),
    ("layers", "ReLU backward masks by dy", "np.where(x > 0, dy, 0.0)", "np.where(dy > 0, dy, 0.0)",
     "relu_backward", "not from dy"),
    ("layers", "dropout keeps with probability p", "keep = rng.uniform(size=x.shape) >= p",
     "keep = rng.uniform(size=x.shape) < p", "dropout, p = 0.2", "probability to DROP"),
    ("layers", "dropout not scaled", "mask = keep / (1.0 - p)", "mask = keep * 1.0", "dropout, p = 0.7",
     "inverted dropout"),
    ("layers", "dropout returns its mask as booleans", "    return x * mask, mask", "    return x * mask, keep",
     "dropout, p = 0.2", "returned booleans"),
    ("layers", "dropout ignores its rng", "rng.uniform(size=x.shape)", "np.random.uniform(size=x.shape)",
     "dropout, p = 0.2", "rng argument"),
    ("layers", "bias gradient averaged", "dy.sum(axis=0)", "dy.mean(axis=0)", "linear_backward", "averaged"),
    ("layers", "softmax without the max shift", "z = scores - scores.max(axis=1, keepdims=True)", "z = scores",
     "softmax_cross_entropy, scores of size 1000", "subtract each row's maximum"),
    ("layers", "softmax gradient not divided by N", "return d / len(labels)", "return d",
     "softmax_cross_entropy_backward", "divide by N"),
    # deconv
    ("deconv", "the deconvnet rule masks by x (becomes guided)", "return np.maximum(signal, 0)\n    if rule == \"gradient\"",
     "return np.maximum(signal, 0) * (x > 0)\n    if rule == \"gradient\"", "relu_reverse, rule 'deconvnet'",
     "'guided' rule"),
    ("deconv", "the gradient rule rectifies the signal", "return signal * (x > 0)", "return np.maximum(signal, 0) * (x > 0)",
     "relu_reverse, rule 'gradient'", "'guided' rule"),
    ("deconv", "unpool overwrites shared switches",
     "np.add.at(out[n, c], switches[n, c].ravel().astype(int), signal[n, c].ravel())",
     "out[n, c][switches[n, c].ravel().astype(int)] = signal[n, c].ravel()", "unpool, 3x3 stride 2", "must ADD"),
    ("deconv", "transposed convolution with flipped filters", 'np.einsum("f,fchw->chw", dy[n, :, r, c], W)',
     'np.einsum("f,fchw->chw", dy[n, :, r, c], W[:, :, ::-1, ::-1])', "conv2d_backward_input, 3x3", "flipped filters"),
    ("deconv", "transposed convolution overwrites overlaps", "c * sw:c * sw + kw] += np.einsum",
     "c * sw:c * sw + kw] = np.einsum", "conv2d_backward_input, 3x3", "must ADD"),
    ("deconv", "receptive boxes ignore padding", "start * stride - pad, (end - 1) * stride + kernel - pad",
     "start * stride, (end - 1) * stride + kernel", "receptive_boxes, the ZF model", "padding shifts"),
    ("deconv", "receptive boxes clipped at 0", "boxes.append((start, end))", "boxes.append((max(start, 0), end))",
     "receptive_boxes, conv 3x3 pad 1 twice", "not clipped"),
    # sgd
    ("sgd", "momentum sign flipped", "new_velocity = momentum * velocity - lr * step",
     "new_velocity = -momentum * velocity - lr * step", "sgd_momentum, momentum 0.9", "wrong sign"),
    ("sgd", "weight decay pushes away from 0", "step = grad + weight_decay * param",
     "step = grad - weight_decay * param", "sgd_momentum, momentum 0.9, weight decay", "pulls towards 0"),
    ("sgd", "weight decay not scaled by lr", "step = grad + weight_decay * param\n    new_velocity = momentum * velocity - lr * step",
     "new_velocity = momentum * velocity - lr * grad - weight_decay * param", "sgd_momentum, momentum 0.9, weight decay",
     "lr scales it"),
    ("sgd", "velocity kept with the opposite sign", "return param + new_velocity, new_velocity",
     "return param + new_velocity, -new_velocity", "sgd_momentum, first step", "ADDED to the parameter"),
    ("sgd", "no momentum", "new_velocity = momentum * velocity - lr * step", "new_velocity = -lr * step",
     "training a softmax classifier", None),
    ("sgd", "weight decay ignored", "step = grad + weight_decay * param", "step = grad",
     "sgd_momentum, momentum 0.9, weight decay", "missing"),
]


def _grade_text(text, name, tmp_path, seed=3, **kwargs):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return grade(path, seed=seed, **{"sandbox_mode": SANDBOX, **kwargs})


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_and_an_independent_loop_version_score_full(name, tmp_path):
    make(name, tmp_path, solution=True)
    for path in (tmp_path / name, BANK / f"{name}.py"):
        for seed in (0, 1):
            report = grade(path, seed=seed, sandbox_mode=SANDBOX)
            lost = [f"{r.name}: {r.output}" for r in report.results if r.score < r.max_score]
            assert not lost and report.score == report.max_score > 0, lost


@pytest.mark.parametrize("name", NAMES)
def test_a_stub_scores_zero(name, tmp_path):
    folder = make(name, tmp_path)
    report = grade(folder, seed=0, sandbox_mode=SANDBOX)
    assert report.score == 0 and report.max_score > 0
    assert all("not written yet" in r.output for r in report.results)


@pytest.mark.slow
@pytest.mark.parametrize("bug", BUGS, ids=[f"{b[0]}: {b[1]}" for b in BUGS])
def test_every_bug_of_the_bank_loses_the_points_of_its_test(bug, tmp_path):
    name, _, old, new, failing, hint = bug
    text = (BANK / f"{name}.py").read_text()
    assert text.count(old) >= 1, f"the bank's {name}.py no longer holds {old!r}"
    report = _grade_text(text.replace(old, new, 1), name, tmp_path)
    hits = [r for r in report.results if r.name.startswith(failing)]
    assert hits, f"no test named {failing!r}"
    assert all(r.score == 0 for r in hits[:1]) and report.score < report.max_score
    if hint:
        assert hint in hits[0].output, hits[0].output


def test_every_assignment_has_at_least_five_bugs_in_the_bank():
    counts = {name: sum(b[0] == name for b in BUGS) for name in NAMES}
    assert min(counts.values()) >= 5, counts


def test_student_files_keep_the_library_signatures_and_stub_every_body(tmp_path):
    import inspect
    import minizf.functional as F
    for name, assignment in ASSIGNMENTS.items():
        text = (make(name, tmp_path) / f"{name}.py").read_text()
        namespace = {}
        exec(compile(text, f"{name}.py", "exec"), namespace)    # our own generated file
        for fn in assignment.functions:
            student = namespace[fn.__name__]
            assert inspect.signature(student) == inspect.signature(getattr(F, fn.__name__))
            from minizf.course.texts import STUDENT_DOCS
            expected = STUDENT_DOCS.get(fn.__name__) or fn.__doc__       # the contract, not the derivation
            assert inspect.getdoc(student) == inspect.cleandoc(expected)
        assert text.count("# BEGIN YOUR CODE") == text.count("raise NotImplementedError") == len(assignment.functions)
        solution = (make(name, tmp_path / "key", solution=True) / f"{name}.py").read_text()
        assert "NotImplementedError" not in solution


def test_make_never_overwrites_a_students_work(tmp_path):
    folder = make("pool", tmp_path)
    (folder / "pool.py").write_text("# my work\n")
    with pytest.raises(ValueError, match="already exists"):
        make("pool", tmp_path)
    assert (folder / "pool.py").read_text() == "# my work\n"
    # The README and the walkthrough are a student's too once edited, in either format.
    other = make("sgd", tmp_path)
    (other / "README.md").write_text("# my notes\n")
    (other / "sgd.py").rename(other / "mine.py")
    for fmt in ("py", "ipynb"):
        with pytest.raises(ValueError, match="README.md already exists"):
            make("sgd", tmp_path, fmt=fmt)
    assert (other / "README.md").read_text() == "# my notes\n" and not (other / "sgd.ipynb").exists()
    (other / "README.md").unlink()
    make("sgd", tmp_path, fmt="ipynb")                    # what minizf wrote, unchanged, is no conflict
    assert (other / "sgd.ipynb").exists()


def test_the_walkthrough_runs_on_the_solution(tmp_path):
    for name in NAMES:
        folder = make(name, tmp_path, solution=True)
        done = subprocess.run([sys.executable, f"{name}_walkthrough.py"], cwd=folder, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_the_walkthrough_accepts_float32_work_as_the_grader_does(tmp_path):
    for name in NAMES:
        folder = make(name, tmp_path, solution=True)
        text = (BANK / f"{name}.py").read_text() + FLOAT32.replace("NAMES", repr(ASSIGNMENTS[name].function_names))
        (folder / f"{name}.py").write_text(text)
        done = subprocess.run([sys.executable, f"{name}_walkthrough.py"], cwd=folder, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0 and "WRONG" not in done.stdout, (name, done.stdout[-1500:], done.stderr[-1500:])


# ---- cannot be fooled ------------------------------------------------------------------------

def test_imports_that_dodge_the_static_check_are_refused_at_run_time(tmp_path):
    text = (BANK / "layers.py").read_text().replace(
        "def relu(x):\n    return np.where(x > 0, x, 0.0)",
        "def relu(x):\n    import builtins\n    load = getattr(builtins, '__imp' + 'ort__')\n"
        "    return load('min' + 'izf.functional', fromlist=['relu']).relu(x)")
    assert not forbidden(text)                     # nothing for the static check to see ...
    report = _grade_text(text, "layers", tmp_path)
    relu = next(r for r in report.results if r.name == "relu")
    assert relu.score == 0 and "not allowed" in relu.output   # ... the sandbox refuses the import


def test_code_that_unhooks_the_import_block_is_flagged(tmp_path):
    text = (BANK / "layers.py").read_text().replace(
        "def relu(x):\n", "def relu(x):\n    import sys\n    sys.meta_path.pop(0)\n")
    report = _grade_text(text, "layers", tmp_path)
    relu = next(r for r in report.results if r.name == "relu")
    assert relu.score == 0 and "sys.meta_path" in relu.output
    assert next(r for r in report.results if r.name == "linear").score == 1   # other functions still count


def test_a_hanging_function_times_out_and_grading_goes_on(tmp_path):
    text = (BANK / "layers.py").read_text().replace("def relu(x):\n", "def relu(x):\n    while True:\n        pass\n")
    report = _grade_text(text, "layers", tmp_path, time_limit=1.0)
    relu = next(r for r in report.results if r.name == "relu")
    assert relu.score == 0 and "timed out" in relu.output
    assert report.score == report.max_score - relu.max_score


def test_a_crash_or_exit_costs_only_its_own_test(tmp_path):
    text = (BANK / "layers.py").read_text().replace("def linear(x, W, b=None):\n",
                                                    "def linear(x, W, b=None):\n    import os\n    os._exit(3)\n")
    report = _grade_text(text, "layers", tmp_path)
    linear = next(r for r in report.results if r.name == "linear")
    assert linear.score == 0 and "ended" in linear.output
    assert report.score == report.max_score - linear.max_score


def test_changing_an_input_in_place_is_named(tmp_path):
    text = (BANK / "layers.py").read_text().replace(
        "def relu(x):\n    return np.where(x > 0, x, 0.0)", "def relu(x):\n    np.maximum(x, 0, out=x)\n    return x")
    relu = next(r for r in _grade_text(text, "layers", tmp_path).results if r.name == "relu")
    assert relu.score == 0 and "in place" in relu.output


def test_a_file_that_does_not_import_scores_zero_with_the_reason(tmp_path):
    report = _grade_text("ASSIGNMENT = 'lrn'\ndef lrn(:\n", "lrn", tmp_path)
    assert report.score == 0 and "SyntaxError" in report.results[0].output


def test_returned_objects_never_run_code_in_the_grader(tmp_path):
    text = (BANK / "layers.py").read_text().replace(
        "def relu(x):\n    return np.where(x > 0, x, 0.0)",
        "def relu(x):\n    return np.array([object()], dtype=object)")
    relu = next(r for r in _grade_text(text, "layers", tmp_path).results if r.name == "relu")
    assert relu.score == 0 and "cannot be read back" in relu.output


def test_inputs_change_with_the_seed(tmp_path):
    # A lookup table of answers made in advance fails: the inputs are drawn per run.
    from minizf.course.suites import LAYERS
    import numpy as np

    class Recorder:
        def __init__(self):
            self.seen = []

        def __getattr__(self, name):
            def call(*args, **kwargs):
                self.seen.append(args[0].copy())
                raise RuntimeError("stop")
            return call
    first, second = Recorder(), Recorder()
    for rec, seed in ((first, 1), (second, 2)):
        try:
            LAYERS[0].run(rec, np.random.default_rng([seed, 0]))
        except RuntimeError:
            pass
    assert not np.array_equal(first.seen[0], second.seen[0])


def test_grade_command_prints_a_line_per_test_and_writes_gradescope_json(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(BANK / "lrn.py"), "--seed", "4", "--sandbox", SANDBOX,
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    results = json.loads(out.read_text())
    tests = results["tests"]
    assert [line.split(":")[0][10:] for line in lines[:len(tests)]] == [t["name"] for t in tests]
    assert lines[-1] == "score 16 / 16" and results["score"] == results["extra_data"]["max_score"] == 16
    assert all(t["score"] == t["max_score"] and t["status"] == "passed" for t in tests)
    assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(tests[0])
    assert results["execution_time"] > 0 and "sandbox" in results["output"]
    again = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(BANK / "lrn.py"), "--seed", "4",
                            "--sandbox", SANDBOX, "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr                  # its own results.json: replaced
    mine = tmp_path / "mine.json"
    mine.write_text('{"tests": []}')
    refused = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(BANK / "lrn.py"), "--sandbox",
                              SANDBOX, "--json", str(mine)], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--json" in refused.stderr and mine.read_text() == '{"tests": []}'


def test_assignment_command_errors_are_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(tmp_path / "nope.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "nope.py" in done.stderr


def test_taking_the_import_block_down_by_a_detour_still_scores_zero(tmp_path):
    # getattr with a computed name escapes the static check; without the OS sandbox (where minizf
    # is not there at all) the import then succeeds, and the worker sees minizf in its modules.
    text = (BANK / "layers.py").read_text().replace(
        "def relu(x):\n    return np.where(x > 0, x, 0.0)",
        "def relu(x):\n    import sys, builtins\n    getattr(sys, 'meta_' + 'path').pop(0)\n"
        f"    sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "    load = getattr(builtins, '__imp' + 'ort__')\n"
        "    return load('min' + 'izf.functional', fromlist=['relu']).relu(x)")
    assert not forbidden(text)
    relu = next(r for r in _grade_text(text, "layers", tmp_path, sandbox_mode="none").results if r.name == "relu")
    assert relu.score == 0 and "not allowed" in relu.output


@pytest.mark.parametrize("top", ["while True:\n    pass\n", "import sys\nsys.exit(3)\n"])
def test_a_file_that_hangs_or_exits_while_imported_scores_zero(top, tmp_path):
    report = _grade_text("ASSIGNMENT = 'sgd'\n" + top, "sgd", tmp_path, time_limit=1.0)
    assert report.score == 0 and all("does not import" in r.output for r in report.results)


# ---- pinned: mistakes in the grader that an earlier suite let through ---------------------------

def test_errors_are_relative_to_the_reference_even_when_it_is_tiny():
    from minizf.course.compare import close
    from minizf.course.outcome import Fail
    import numpy as np
    expected = 1e-7 * np.linspace(1, 2, 12).reshape(4, 3)
    close("dx", expected * (1 + 1e-9), expected)                  # right: passes
    with pytest.raises(Fail, match="relative error 3.0e-01"):
        close("dx", expected * 1.3, expected)                     # 30% off at a scale of 1e-7: fails


def test_an_answer_of_the_wrong_shape_is_not_broadcast():
    from minizf.course.compare import close, equal
    from minizf.course.outcome import Fail
    import numpy as np
    expected = np.ones((4, 3))
    for compare in (close, equal):
        with pytest.raises(Fail, match=r"shape \(1, 3\), expected \(4, 3\)"):
            compare("y", np.ones((1, 3)), expected)


@pytest.mark.parametrize("line", ["import importlib", "_ = eval('1')"])
def test_an_offence_at_module_level_is_charged_to_every_test(line, tmp_path):
    text = (BANK / "layers.py").read_text().replace("import numpy as np\n", f"import numpy as np\n{line}\n")
    report = _grade_text(text, "layers", tmp_path)
    assert report.score == 0 and all("line 3" in r.output for r in report.results)


def test_every_test_gets_its_own_time_limit_even_after_a_restart(tmp_path):
    # linear ends the process; linear_backward, the next test, then runs in a fresh one and sleeps
    # 3 s per call: the start-up allowance must not extend its 1 s limit.
    text = (BANK / "layers.py").read_text().replace(
        "def linear(x, W, b=None):\n", "def linear(x, W, b=None):\n    import os\n    os._exit(1)\n").replace(
        "def linear_backward(dy, x, W):\n", "def linear_backward(dy, x, W):\n    import time\n    time.sleep(3)\n")
    report = _grade_text(text, "layers", tmp_path, time_limit=1.0)
    backward = next(r for r in report.results if r.name == "linear_backward")
    linear = next(r for r in report.results if r.name == "linear")
    assert backward.score == 0 and "timed out after 1 s" in backward.output
    assert report.score == report.max_score - linear.max_score - backward.max_score


def test_results_json_carries_the_students_score_not_the_maximum(tmp_path):
    text = (BANK / "layers.py").read_text().replace("dy.sum(axis=0)", "dy.mean(axis=0)")
    path = tmp_path / "layers.py"
    path.write_text(text)
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(path), "--seed", "2", "--sandbox",
                           SANDBOX, "--json", str(out)], capture_output=True, text=True, timeout=300)
    results = json.loads(out.read_text())
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert [t["name"] for t in failed] == ["linear_backward"] and failed[0]["score"] == 0
    assert results["extra_data"]["max_score"] == 16 and results["score"] == 16 - failed[0]["max_score"]
    assert done.stdout.strip().splitlines()[-1] == f"score {results['score']:g} / 16"


# ---- one tolerance policy: float32 arithmetic passes, empty maps do not ---------------------------

FLOAT32 = """

import numpy as np


def _in_float32(fn):
    \"\"\"The same function computing in float32 and returning float64, as a student's might.\"\"\"
    def run(*args, **kwargs):
        args = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]
        out = fn(*args, **kwargs)
        back = lambda o: o.astype(np.float64) if isinstance(o, np.ndarray) and o.dtype.kind == "f" else o
        return tuple(back(o) for o in out) if isinstance(out, tuple) else back(out)
    return run


for _name in NAMES:
    globals()[_name] = _in_float32(globals()[_name])
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_float32_arithmetic_gets_full_marks(name, tmp_path):
    text = (BANK / f"{name}.py").read_text() + FLOAT32.replace("NAMES", repr(ASSIGNMENTS[name].function_names))
    for seed in (0, 1):
        report = _grade_text(text, name, tmp_path, seed=seed)
        assert report.score == report.max_score, [r.output for r in report.results if not r.passed]


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((BANK / "float32").glob("*.py")), ids=lambda p: p.stem)
def test_vectorised_float32_styles_get_full_marks_on_every_seed(path):
    # A float32 sum over a real layer's 2048 positions strays by about 1.2e-6: the tolerance grows
    # with the number of terms summed (compare.tolerance); tools/float32_styles.py runs 100 seeds.
    for seed in range(8):
        report = grade(path, seed=seed, sandbox_mode="none")
        assert report.score == report.max_score, (seed, [r.output for r in report.results if not r.passed])


def test_the_tolerance_grows_with_the_terms_summed_and_only_so_far():
    from minizf.course.compare import TOL, tolerance
    assert tolerance(1) == tolerance(4) == TOL < tolerance(9)
    assert 1.2e-6 < tolerance(2048) < 3e-5                    # the measured float32 error fits, a bug does not
    assert tolerance(4 * 2048) == pytest.approx(2 * tolerance(2048))


def test_maps_that_return_zeros_fail_the_adjoint_tests(tmp_path):
    text = (BANK / "conv.py").read_text() + (
        "\n\ndef conv2d(x, W, b=None, stride=1, pad=0):\n"
        "    N, F = x.shape[0], W.shape[0]\n"
        "    return np.zeros((N, F) + tuple(conv2d_ref(x, W, b, stride, pad).shape[2:]))\n\n\n"
        "def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):\n"
        "    return np.zeros(x.shape), np.zeros(W.shape), np.zeros(W.shape[0])\n")
    text = text.replace("def conv2d(x, W, b=None, stride=1, pad=0):\n    N = x.shape[0]",
                        "def conv2d_ref(x, W, b=None, stride=1, pad=0):\n    N = x.shape[0]", 1)
    report = _grade_text(text, "conv", tmp_path)
    adjoint = [r for r in report.results if "is the transpose of conv2d" in r.name]
    assert adjoint and all(r.score == 0 and "all zeros" in r.output for r in adjoint)


SPIKES = """

import numpy as np


def _spike(value):
    \"\"\"An answer of the right shape holding no work: zeros, one entry of 1e200 (0 for integers).\"\"\"
    if isinstance(value, tuple):
        return tuple(_spike(v) for v in value)
    if value is None:
        return None
    spike = np.zeros(np.shape(value), dtype=np.asarray(value).dtype)
    if spike.dtype.kind == "f" and spike.size:
        spike.flat[0] = 1e200
    return spike


for _name in NAMES:
    globals()[_name] = (lambda fn: lambda *args, **kwargs: _spike(fn(*args, **kwargs)))(globals()[_name])
"""


@pytest.mark.parametrize("name", ["conv", "pool", "deconv"])
def test_answers_that_overflow_the_scale_earn_nothing(name, tmp_path):
    # Zeros with one entry of 1e200 once passed the transpose tests: |A x| overflowed to inf, and
    # any difference divided by inf is 0. Every function here returns such a spike and nothing else.
    text = (BANK / f"{name}.py").read_text() + SPIKES.replace("NAMES", repr(ASSIGNMENTS[name].function_names))
    for seed in (0, 1):
        report = _grade_text(text, name, tmp_path, seed=seed)
        assert report.score == 0, [(r.name, r.output) for r in report.results if r.passed]


def test_prose_that_names_torch_or_minizf_costs_nothing(tmp_path):
    # A docstring pushed below an import is a plain string; an error message may name torch.
    # Neither is code that reaches for a library: full marks, and a note for the instructor.
    text = (BANK / "conv.py").read_text()
    moved = "import numpy as np\n" + text.replace("\nimport numpy as np\n", "\n", 1).replace(
        "The bank of", "Not minizf's code nor torch's. The bank of")
    said = text.replace("def conv2d(x, W, b=None, stride=1, pad=0):\n    N = x.shape[0]\n",
                        "def conv2d(x, W, b=None, stride=1, pad=0):\n    if x.ndim != 4:\n"
                        "        raise ValueError('x must be NCHW, as torch expects')\n    N = x.shape[0]\n")
    assert moved != text and said != text
    for variant in (moved, said):
        report = _grade_text(variant, "conv", tmp_path)
        assert report.score == report.max_score, [r.output for r in report.results if not r.passed]
        assert any("not charged" in note for note in report.notes)
    assert not any("not charged" in note for note in _grade_text(text, "conv", tmp_path).notes)


def _as_notebook(text):
    from minizf.course.notebook import code_cell, dumps, notebook
    return dumps(notebook([code_cell(text, tagged=True)]))


@pytest.mark.parametrize("where", ["pool (1).py", "pool-Copy1.ipynb", "hw1/pool/pool.py", "hw.zip",
                                   "final.py"])
def test_the_file_is_found_wherever_students_put_it(where, tmp_path):
    import zipfile
    folder = tmp_path / "submission"
    folder.mkdir()
    text = (BANK / "pool.py").read_text()
    if where == "hw.zip":
        with zipfile.ZipFile(folder / where, "w") as z:
            z.writestr("hw1/pool.py", text)
    else:
        (folder / where).parent.mkdir(parents=True, exist_ok=True)
        (folder / where).write_text(_as_notebook(text) if where.endswith(".ipynb") else text)
    report = grade(folder, seed=1, assignment="pool", sandbox_mode=SANDBOX)
    assert report.score == report.max_score == 16 and where.split("/")[-1] in report.path


def test_several_candidates_are_named_and_the_best_graded(tmp_path):
    folder = tmp_path / "submission"
    (folder / "old").mkdir(parents=True)
    (folder / "pool (1).py").write_text((BANK / "pool.py").read_text())
    (folder / "old" / "pool.py").write_text("ASSIGNMENT = 'pool'\n")
    (folder / "conv2d.py").write_text("x = 1\n")                       # not a candidate: conv2d is not conv
    report = grade(folder, seed=1, assignment="pool", sandbox_mode=SANDBOX)
    assert report.path.endswith("pool (1).py") and report.score == 16
    assert any("several files" in note and "old/pool.py" in note for note in report.notes)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing")
    with pytest.raises(ValueError, match=r"no pool.py or pool.ipynb"):
        grade(empty, assignment="pool", sandbox_mode=SANDBOX)


def test_a_zip_bomb_costs_nothing(tmp_path):
    import zipfile
    folder = tmp_path / "submission"
    folder.mkdir()
    with zipfile.ZipFile(folder / "hw.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("pool.py", b"#" * (200 << 20))                        # 200 MB of comment, 200 KB zipped
    with pytest.raises(ValueError, match="at most"):
        grade(folder, assignment="pool", sandbox_mode=SANDBOX)


def test_a_zero_in_an_overhanging_ceil_mode_window_fails_on_every_seed(tmp_path):
    text = (BANK / "pool.py").read_text().replace(
        "if 0 <= h < H and 0 <= w < W and x[n, ch, h, w] > best:\n                                best, where = "
        "x[n, ch, h, w], h * W + w",
        "value = x[n, ch, h, w] if 0 <= h < H and 0 <= w < W else 0.0\n                            if value > best:"
        "\n                                best, where = value, h * W + w")
    for seed in range(8):
        report = _grade_text(text, "pool", tmp_path, seed=seed)
        ceil = next(r for r in report.results if r.name.startswith("max_pool2d, 3x3 stride 2, ceil mode"))
        assert ceil.score == 0, seed


def test_student_docstrings_state_the_contract_not_the_answer(tmp_path):
    from minizf.course.assignments import student_source
    giveaways = ["(probs - onehot", "v' = momentum", "2 alpha beta", "[a*s - p", "matmul_for_col2im",
                 "channels_last", "the same map as ``unpool``", "dy * mask", "dy where x > 0"]
    for name, assignment in ASSIGNMENTS.items():
        student, key = student_source(assignment), student_source(assignment, solution=True)
        to_write = student.split("# ---- To write")[1]
        assert not [g for g in giveaways if g in to_write], name
        for fn in assignment.functions:                    # the key keeps the library's docstrings
            assert fn.__doc__.strip().splitlines()[0] in key
