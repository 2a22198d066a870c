"""The grader against hostile submissions: each route a determined student tried earns nothing and harms nothing.

Every hostile file is the independent loop submission (tests/bank/layers.py)
with one function, ``linear``, replaced by an attack that returns the answer
key's result if the attack worked and a wrong answer if it did not. Graded
through the command, as an instructor would, each case asserts: the faked
function scores 0 and the honest ones keep their points; results.json says
exactly what the grader printed; the installed package is byte-identical;
no process of the student's is left; nothing was written outside the
sandbox. A few routes are also run with ``--sandbox none`` to show they are
real attacks (they earn the point there).

bwrap-dependent tests skip where bubblewrap is missing; .ci/run installs it.
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import minizf
from minizf.course import make
from minizf.course.grader import grade
from minizf.course.sandbox import why_not_bwrap

from .processes import reap, subreaper, workers

BANK = Path(__file__).resolve().parent / "bank"
PACKAGE = Path(minizf.__file__).resolve().parent
NO_BWRAP = why_not_bwrap()
needs_bwrap = pytest.mark.skipif(NO_BWRAP is not None, reason=f"no sandbox here: {NO_BWRAP}")
HONEST = "def linear(x, W, b=None):\n    y = np.einsum(\"ni,oi->no\", x, W)\n    return y if b is None else y + b\n"
WRONG = "\n\ndef _wrong(x, W):\n    return np.zeros((x.shape[0], W.shape[0]))\n"

# (name, body of linear(x, W, b=None): the key's answer if the attack works, else _wrong(x, W))
KEY_ROUTES = [
    ("runs `minizf assignment make --solution` through subprocess, then runpy", """
    try:
        import runpy, subprocess
        subprocess.run(["{python}", "-m", "min" + "izf.cli", "assignment", "make", "layers", "--out", "k",
                        "--solution", "--force"], check=True, capture_output=True,
                       env={{"PYTHONPATH": "{package_parent}"}})
        return runpy.run_path("k/layers/layers.py")["linear"](x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
    ("the same through os.system", """
    import os, runpy
    os.system("{python} -m min" + "izf.cli assignment make layers --out k2 --solution --force >/dev/null 2>&1")
    try:
        return runpy.run_path("k2/layers/layers.py")["linear"](x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
    ("the same through ctypes and the C library's system()", """
    import ctypes, runpy
    ctypes.CDLL(None).system(b"{python} -m min" + "izf.cli assignment make layers --out k3 --solution --force")
    try:
        return runpy.run_path("k3/layers/layers.py")["linear"](x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
    ("reads the installed source by path and runs it through getattr(builtins, 'ex' + 'ec')", """
    import builtins
    try:
        text = open("{package_parent}/" + "min" + "izf/functional/fully_connected.py").read()
        text = text.replace("from ..backend import get_array_module", "get_array_module = lambda a: np")
        text = text.replace("from .chunks import add_shares, over_shares",
                            "over_shares = lambda f, n, xp: f(slice(None))")
        space = {{"np": np}}
        getattr(builtins, "ex" + "ec")(text, space)
        return space["linear"](x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
    ("compiles the installed source into a function with types.FunctionType", """
    import builtins, types
    try:
        text = open("{package_parent}/" + "min" + "izf/functional/fully_connected.py").read()
        code = getattr(builtins, "comp" + "ile")(text, "k", "ex" + "ec")
        return types.FunctionType(code.co_consts[2], {{}})(x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
    ("copies the installed package under another name and imports that", """
    import shutil, sys
    try:
        shutil.copytree("{package_parent}/" + "min" + "izf", "copied/mz2", dirs_exist_ok=True)
        sys.path.insert(0, "copied")
        import mz2.functional
        return np.asarray(mz2.functional.linear(x, W, b))
    except Exception:
        return _wrong(x, W)
"""),
    ("asks a child python to import the library and send the answer back by pickle", """
    import pickle, subprocess
    try:
        done = subprocess.run(["{python}", "-c", "import pickle, sys, min" + "izf.functional as F; "
                               "x, W, b = pickle.load(sys.stdin.buffer); "
                               "sys.stdout.buffer.write(pickle.dumps(F.linear(x, W, b)))"],
                              input=pickle.dumps((x, W, b)), capture_output=True, check=True)
        return pickle.loads(done.stdout)
    except Exception:
        return _wrong(x, W)
"""),
    ("takes the import block down and hides the library from sys.modules after the call", """
    import sys
    try:
        getattr(sys, "meta_" + "path").pop(0)
        sys.path.insert(0, "{package_parent}")
        import builtins
        module = getattr(builtins, "__imp" + "ort__")("min" + "izf.functional", fromlist=["linear"])
        y = module.linear(x, W, b)
        for name in [m for m in getattr(sys, "mod" + "ules") if m.startswith("min" + "izf")]:
            del getattr(sys, "mod" + "ules")[name]
        return y
    except Exception:
        return _wrong(x, W)
"""),
    ("imports an answer key lying next to the submission", """
    import sys
    try:
        import key
        return key.linear(x, W, b)
    except Exception:
        return _wrong(x, W)
"""),
]

HARM_ROUTES = [
    ("reads /etc/passwd and the grader's environment into the report", """
    import os
    raise RuntimeError(open("/etc/passwd").read()[:300] + repr(dict(os.environ)))
"""),
    ("opens a socket to the grader's machine", """
    import socket
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"stolen")
    return _wrong(x, W)
"""),
    ("allocates 3 GB", """
    block = bytearray(3 << 30)
    return _wrong(x, W) + block[-1]
"""),
    ("writes a 200 MB file", """
    with open("big.bin", "wb") as f:
        for _ in range(200):
            f.write(bytes(1 << 20))
    return _wrong(x, W)
"""),
    ("leaves a process spinning after grading", """
    import os
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
    return _wrong(x, W)
"""),
    ("stops the grader with SIGSTOP, then itself", """
    import os, signal
    os.kill(os.getppid(), signal.SIGSTOP)
    os.kill(1, signal.SIGSTOP)
    os.kill(os.getpid(), signal.SIGSTOP)
    return _wrong(x, W)
"""),
    ("rewrites the installed grader so the next stub scores full", """
    import os
    for path in ["{package_parent}/" + "min" + "izf/course/grader.py", "{package_parent}/" + "min" + "izf/course/compare.py"]:
        try:
            with open(path, "a") as f:
                f.write("\\nraise SystemExit('hacked')\\n")
        except OSError:
            pass
    return _wrong(x, W)
"""),
    ("writes a score on the grader's terminal and kills it", """
    import os, signal
    for fd in ("/proc/%d/fd/1" % os.getppid(), "/proc/1/fd/1", "/dev/tty"):
        try:
            with open(fd, "w") as f:
                f.write("score 16 / 16\\n")
        except OSError:
            pass
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return _wrong(x, W)
"""),
    ("rewrites results.json from a double-forked process", """
    import os, time
    for pid in os.listdir("/proc"):
        try:
            words = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\\0")
        except OSError:
            continue
        if b"--json" in words and os.fork() == 0 and os.fork() == 0:
            path = words[words.index(b"--json") + 1].decode()
            time.sleep(1)
            open(path, "w").write('{{"score": 16, "tests": []}}')
            os._exit(0)
    return _wrong(x, W)
"""),
    ("prints a forged score line and escapes through its exception message", """
    raise ValueError("oops\\nscore 16 / 16\\n\\x1b[32mok\\x1b[0m \\ud800")
"""),
    ("writes garbage on the grader's pipe itself", """
    import os, struct, sys
    header = b'{{"meta": {{"result": 1}}, "arrays": 7}}'
    os.write(int(sys.argv[3]), struct.pack("<QQ", len(header), 0) + header)
    return _wrong(x, W)
"""),
    ("sends a header claiming a huge message", """
    import os, struct, sys
    os.write(int(sys.argv[3]), struct.pack("<QQ", 10, 1 << 40))
    return _wrong(x, W)
"""),
]

BAD_RESULTS = [("forgets its return", "    y = x @ W.T\n"), ("returns an int", "    return 3\n"),
               ("returns a dict", "    return {'y': x @ W.T}\n"),
               ("returns a generator", "    return (row for row in x @ W.T)\n"),
               ("returns a 1-tuple", "    return (x @ W.T,)\n"),
               ("returns a string", "    return 'x @ W.T'\n"),
               ("returns complex numbers", "    return (x @ W.T).astype(complex)\n"),
               ("returns a nested list 100 deep", "    y = 1.0\n    for _ in range(100):\n        y = [y]\n"
                "    return y\n")]


def _package_digest():
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(autouse=True, scope="module")
def _subreaper():
    """This test process as the child subreaper (tests/processes.py): "descendants" then holds every
    process this module's gradings started, and nothing another program on the machine runs."""
    subreaper(True)
    yield
    subreaper(False)
    reap()


def _student_processes():
    """Processes running the worker (a student's code) that this test process started."""
    return [str(pid) for pid in workers()]


def _submission(tmp_path, body):
    """tmp/sub/layers.py: the loop bank with linear replaced, and the answer key beside it (key.py)."""
    folder = tmp_path / "sub"
    folder.mkdir()
    key = make("layers", tmp_path / "key", solution=True) / "layers.py"
    (folder / "key.py").write_text(key.read_text())
    text = (BANK / "layers.py").read_text()
    assert HONEST in text
    text = text.replace(HONEST, "def linear(x, W, b=None):\n" + body.lstrip("\n")) + WRONG
    (folder / "layers.py").write_text(text)
    return folder / "layers.py"


def _grade_cli(path, tmp_path, *extra):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(path), "--seed", "5", "--json", str(out),
                           "--time-limit", "3", *extra], capture_output=True, timeout=300)
    return done, out


def _fill(body, **more):
    return body.format(python=sys.executable, package=PACKAGE, package_parent=PACKAGE.parent, **more)


def _check_graded_safely(done, out, tmp_path, before):
    """What every hostile run must leave: a normal exit, a true results.json, no trace outside."""
    stdout = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    lines = stdout.splitlines()
    results = json.loads(out.read_text())
    assert lines[-1] == f"score {results['score']:g} / {results['extra_data']['max_score']:g}"
    assert [line for line in lines if line.startswith("score")] == lines[-1:]
    assert "\x1b" not in stdout and "root:" not in stdout and "PATH" not in stdout
    printed = {line.split(":")[0][10:]: line for line in lines if line[:4] in ("ok  ", "FAIL")}
    assert len(printed) == len(results["tests"])
    for test in results["tests"]:
        assert printed[test["name"]].startswith("ok  " if test["status"] == "passed" else "FAIL")
        assert test["output"] in printed[test["name"]]
    assert _package_digest() == before
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["key.py", "layers.py"]
    assert not _student_processes()
    return {t["name"]: t for t in results["tests"]}


@pytest.fixture(scope="module")
def digest():
    return _package_digest()


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("route", [r for _, r in KEY_ROUTES], ids=[n for n, _ in KEY_ROUTES])
def test_no_route_to_the_answer_key_earns_the_point(route, tmp_path, digest):
    done, out = _grade_cli(_submission(tmp_path, _fill(route)), tmp_path)
    tests = _check_graded_safely(done, out, tmp_path, digest)
    assert tests["linear"]["score"] == 0
    assert all(t["score"] == t["max_score"] for name, t in tests.items() if name != "linear")


@pytest.mark.parametrize("index", [3, 5], ids=[KEY_ROUTES[i][0] for i in (3, 5)])
def test_the_key_routes_are_real_attacks_without_the_sandbox(index, tmp_path):
    # (the routes through a new process are stopped even by --sandbox none: its worker installs the filter)
    path = _submission(tmp_path, _fill(KEY_ROUTES[index][1]))
    report = grade(path, seed=5, sandbox_mode="none")
    assert next(r for r in report.results if r.name == "linear").score == 1
    assert report.sandbox == "none"


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("route", [r for _, r in HARM_ROUTES], ids=[n for n, _ in HARM_ROUTES])
def test_hostile_code_harms_nothing_and_earns_nothing(route, tmp_path, digest):
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    try:
        done, out = _grade_cli(_submission(tmp_path, _fill(route, port=server.getsockname()[1])), tmp_path)
        with pytest.raises(OSError):
            server.accept()                       # nobody reached the grader's socket
    finally:
        server.close()
    tests = _check_graded_safely(done, out, tmp_path, digest)
    assert tests["linear"]["score"] == 0
    assert sum(t["score"] for t in tests.values()) == 15     # the honest functions keep every point


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("body", [b for _, b in BAD_RESULTS], ids=[n for n, _ in BAD_RESULTS])
def test_answers_of_the_wrong_form_cost_their_test_with_a_line(body, tmp_path, digest):
    done, out = _grade_cli(_submission(tmp_path, body), tmp_path)
    tests = _check_graded_safely(done, out, tmp_path, digest)
    assert tests["linear"]["score"] == 0 and tests["linear"]["output"]
    assert sum(t["score"] for t in tests.values()) == 15


def test_the_student_cannot_pick_the_assignment(tmp_path):
    folder = make("pool", tmp_path / "hw", solution=True)
    path = folder / "pool.py"
    path.write_text(path.read_text().replace('ASSIGNMENT = "pool"', 'ASSIGNMENT = "conv"'))
    report = grade(folder, seed=1, sandbox_mode="none")
    assert report.assignment == "pool" and report.max_score == 16
    assert any("ASSIGNMENT = 'conv'" in note for note in report.notes)
    renamed = tmp_path / "conv.py"
    renamed.write_text(path.read_text())
    assert grade(renamed, seed=1, assignment="pool", sandbox_mode="none").assignment == "pool"


def test_a_link_to_the_key_and_an_oversized_file_are_refused_in_one_line(tmp_path):
    key = make("pool", tmp_path / "key", solution=True) / "pool.py"
    link = tmp_path / "pool.py"
    link.symlink_to(key)
    huge = tmp_path / "big" / "pool.py"
    huge.parent.mkdir()
    huge.write_text('ASSIGNMENT = "pool"\n' + "_z = 1\n" * 3_500_000)      # 21 MB
    for path, words in ((link, "symbolic link"), (huge, "at most")):
        done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1


def test_without_bwrap_auto_refuses_and_says_why(tmp_path, monkeypatch):
    from minizf.course import sandbox
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="bubblewrap is not installed.*--sandbox none"):
        grade(BANK / "lrn.py", sandbox_mode="auto")
    report = grade(BANK / "lrn.py", seed=1, sandbox_mode="none")
    assert report.score == report.max_score and report.sandbox == "none"


@needs_bwrap
def test_check_sandbox_measures_every_route_stopped():
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", "--check-sandbox"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    assert "NOT STOPPED" not in done.stdout and "13 of 13 stopped" in done.stdout


def test_check_sandbox_without_one_says_what_is_open():
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "grade", "--check-sandbox", "--sandbox", "none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "NOT STOPPED  read a file of yours" in done.stdout
    assert "NOT STOPPED  read minizf's source (the answer key)" in done.stdout
    # The worker's own seccomp filter holds even here: no socket, no new process.
    assert "stopped      connect to a socket the grader opened" in done.stdout
    assert "stopped      start a process" in done.stdout


def test_a_copy_of_the_key_is_reported_to_the_instructor_not_zeroed(tmp_path):
    folder = make("conv", tmp_path / "key", solution=True)
    report = grade(folder, seed=2, sandbox_mode="none")
    assert report.score == report.max_score
    assert any("matches minizf's own source" in note and "im2col" in note for note in report.notes)
    honest = grade(BANK / "conv.py", seed=2, sandbox_mode="none")
    assert not any("matches" in note for note in honest.notes)


# ---- a backward computed by finite differences earns nothing -------------------------------------

FD_BACKWARDS = [
    ("conv", "conv2d_backward", '''
def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):
    """Central differences of the student's own conv2d, one entry at a time."""
    def loss(x_, W_, b_):
        return float((conv2d(x_, W_, b_, stride, pad) * dy).sum())
    b = np.zeros(W.shape[0])
    grads = []
    for which, array in enumerate((x, W, b)):
        g = np.zeros_like(array)
        for i in range(array.size):
            args = [x.copy(), W.copy(), b.copy()]
            args[which].flat[i] += 1e-5
            up = loss(*args)
            args[which].flat[i] -= 2e-5
            g.flat[i] = (up - loss(*args)) / 2e-5
        grads.append(g)
    return (grads[0] if input_grad else None), grads[1], grads[2]
'''),
    ("conv", "col2im", '''
def col2im(cols, x_shape, kernel_size, stride=1, pad=0):
    """The transpose of im2col found by probing it with every basis image (one image at a time)."""
    N, C, H, W = x_shape
    rows = cols.shape[0] // N
    out = np.zeros(x_shape)
    for j in range(C * H * W):
        e = np.zeros((1, C, H, W))
        e.flat[j] = 1.0
        column = im2col(e, kernel_size, stride, pad)
        for n in range(N):
            out[n].flat[j] = (cols[n * rows:(n + 1) * rows] * column).sum()
    return out
'''),
    ("lrn", "lrn_backward", '''
def lrn_backward(dy, x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Central differences of the student's own lrn, one entry at a time."""
    dx = np.zeros_like(x)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up.flat[i] += 1e-6
        down.flat[i] -= 1e-6
        dx.flat[i] = ((lrn(up, size, alpha, beta, k) - lrn(down, size, alpha, beta, k)) * dy).sum() / 2e-6
    return dx
'''),
]


def _grade_with(name, fn, code, tmp_path):
    """The loop bank's NAME.py with function fn replaced by code, graded."""
    import re
    text = (BANK / f"{name}.py").read_text()
    text = re.sub(rf"\ndef {fn}\(.*?(?=\n\ndef |\Z)", "\n" + code.strip("\n"), text, flags=re.S)
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return grade(path, seed=1, sandbox_mode="none" if NO_BWRAP else "auto")


@pytest.mark.slow
@pytest.mark.parametrize("name, fn, code", FD_BACKWARDS, ids=[f[1] for f in FD_BACKWARDS])
def test_a_backward_by_finite_differences_earns_nothing(name, fn, code, tmp_path):
    report = _grade_with(name, fn, code, tmp_path)
    mine = [r for r in report.results if fn in r.name]
    others = [r for r in report.results if fn not in r.name]
    assert len(mine) >= 3 and all(r.score == 0 for r in mine)
    assert "timed out" in mine[0].output and all("finite differences" in r.output for r in mine[1:])
    assert all(r.passed for r in others if r.name.startswith(("im2col,", "conv2d forward", "lrn,")))


@pytest.mark.slow
def test_a_finite_difference_backward_that_dodges_the_real_size_earns_nothing(tmp_path):
    # Raising at once at a real layer's size fails the gate test fast instead of timing out:
    # failing it for any reason voids the function's other tests.
    name, fn, code = FD_BACKWARDS[2]                        # lrn_backward: cheap at the small sizes
    dodge = code.replace('    """Central differences of the student\'s own lrn, one entry at a time."""\n',
                         '    """Central differences, except where they would be slow."""\n'
                         '    if x.size > 20000:\n        raise ValueError("too large")\n')
    assert dodge != code
    report = _grade_with(name, fn, dodge, tmp_path)
    mine = [r for r in report.results if fn in r.name]
    assert len(mine) >= 3 and all(r.score == 0 for r in mine)
    assert "too large" in mine[0].output and all("not counted" in r.output for r in mine[1:])


@pytest.mark.parametrize("name", ["conv", "lrn"])
def test_scalar_python_submissions_get_full_marks_at_real_size_too(name):
    # Entry by entry in pure Python: the slowest honest style still passes the tests at a real
    # layer's size, which are there to stop finite differences (above).
    for seed in (0, 1):
        report = grade(BANK / "scalar" / f"{name}.py", seed=seed, sandbox_mode="none" if NO_BWRAP else "auto")
        assert report.score == report.max_score, [r.output for r in report.results if not r.passed]


@needs_bwrap
def test_the_pid_namespace_alone_ends_every_process_of_the_student(tmp_path, monkeypatch, digest):
    # With the seccomp filter emptied (new processes allowed), a child that leaves the process
    # group and spins still dies with the sandbox: the PID namespace guarantees it on its own.
    from minizf.course import seccomp
    monkeypatch.setattr(seccomp, "_rules", lambda: [])
    route = dict(HARM_ROUTES)["leaves a process spinning after grading"]
    path = _submission(tmp_path, _fill(route))
    report = grade(path, seed=5)
    survivors = _student_processes()
    for pid in survivors:                    # a broken sandbox must not leave its spinner to the next test
        os.kill(int(pid), 9)
    assert next(r for r in report.results if r.name == "linear").score == 0
    assert not survivors
    assert _package_digest() == digest


@needs_bwrap
def test_the_sandbox_dev_holds_four_devices_and_nothing_outside_work_is_writable():
    from minizf.course.student import StudentProcess
    code = b"""
import os
def look():
    wrote = []
    for path in ("/dev/x", "/dev/shm/x", "/x", "/opt/x", "/grader/x", "/usr/x"):
        try:
            open(path, "wb").close()
            wrote.append(path)
        except OSError:
            pass
    return sorted(os.listdir("/dev")), wrote
"""
    process = StudentProcess(code, "look.py", "bwrap")
    try:
        process.begin_test(30)
        devices, wrote = process.call("look")
    finally:
        process.close()
    assert devices == ["fd", "null", "random", "urandom", "zero"] and wrote == []


def _call_in_sandbox(code, fn, mode):
    from minizf.course.student import StudentProcess
    process = StudentProcess(code, "probe.py", mode)
    try:
        process.begin_test(60)
        return process.call(fn)
    finally:
        process.close()


@needs_bwrap
def test_the_sandbox_disk_holds_64_mib_in_all_whatever_the_files():
    # Each file stays under the 16 MiB file limit; together they would pass the tmpfs's cap.
    code = b"""
def fill():
    written = 0
    for i in range(8):
        try:
            with open("/work/part%d" % i, "wb") as f:
                for _ in range(15):
                    f.write(bytes(1 << 20))
                    written += 1 << 20
        except OSError:
            break
    return written
"""
    written = _call_in_sandbox(code, "fill", "bwrap")
    assert 40 << 20 < written <= 64 << 20


THREADS_AND_PTRACE = b"""
import ctypes, errno, os, threading
import numpy as np
def work():
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("sum", float(np.arange(10.0).sum())))
    worker.start()
    worker.join()
    libc = ctypes.CDLL(None, use_errno=True)
    traced = libc.ptrace(0, 0, None, None)                  # PTRACE_TRACEME
    traced_refused = ctypes.get_errno() == errno.EPERM
    try:
        if os.fork() == 0:                                   # a process that never execs
            os._exit(0)
        forked = True
    except OSError:
        forked = False
    return out.get("sum", -1.0), int(traced), traced_refused, forked
"""


@pytest.mark.parametrize("mode", ["none", "bwrap"])
def test_a_student_may_start_threads_but_not_trace_or_fork(mode):
    if mode == "bwrap" and NO_BWRAP:
        pytest.skip(f"no sandbox here: {NO_BWRAP}")
    total, traced, refused, forked = _call_in_sandbox(THREADS_AND_PTRACE, "work", mode)
    assert total == 45.0                     # a thread ran: clone3 answered ENOSYS, clone with CLONE_THREAD passed
    assert traced == -1 and refused          # ptrace refused by the filter
    assert not forked                        # and a new process, even one that never execs


def test_the_container_tier_refuses_in_one_line_what_it_lacks(monkeypatch):
    from minizf.course import container, sandbox
    monkeypatch.setattr(container.pwd, "getpwnam", lambda name: (_ for _ in ()).throw(KeyError(name)))
    monkeypatch.setattr(container.os, "geteuid", lambda: 0)
    with pytest.raises(sandbox.Unavailable, match="no user minizf-student.*useradd --system"):
        sandbox.resolve("container")
    monkeypatch.setattr(container.os, "geteuid", lambda: 1000)
    with pytest.raises(sandbox.Unavailable, match="must run as root"):
        sandbox.resolve("container")
    monkeypatch.setattr(sandbox, "why_not_bwrap", lambda: "bubblewrap cannot make namespaces here")
    with pytest.raises(sandbox.Unavailable) as refused:          # auto says why for each tier
        sandbox.resolve("auto")
    assert "bubblewrap: " in str(refused.value) and "the container tier: " in str(refused.value)


def test_sandbox_none_still_grades_where_there_is_no_seccomp(monkeypatch):
    # macOS and Windows have no libseccomp: --sandbox none runs there without the filter.
    from minizf.course import seccomp
    monkeypatch.setattr(seccomp, "available", lambda: False)
    report = grade(BANK / "lrn.py", seed=1, sandbox_mode="none")
    assert report.score == report.max_score and report.sandbox == "none"


def test_without_the_sandbox_the_report_says_so(tmp_path):
    from minizf.course.report import results_json
    report = grade(BANK / "sgd.py", seed=1, sandbox_mode="none")
    output = results_json(report)["output"]
    assert "sandbox: none" in output and "warning: --sandbox none" in output
