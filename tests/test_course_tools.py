"""Running a course: course files (stubs, points, partial credit, hidden tests), roster grading to
CSV, and Gradescope's autograder zip run in a folder laid out like Gradescope's /autograder."""
import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import minizf
from minizf.course import make
from minizf.course.config import load
from minizf.course.grader import grade
from minizf.course.sandbox import why_not_bwrap

BANK = Path(__file__).resolve().parent / "bank"
SANDBOX = "auto" if why_not_bwrap() is None else "none"
ONLY_BACKWARD = """
[conv]
stub = ["conv2d_backward"]
points = { conv2d_backward = 10 }
hidden = ["*real layer*"]
"""


def _course(tmp_path, text=ONLY_BACKWARD, name="course.toml"):
    """A course file in its own folder (one beside a submission would make its grading a local check)."""
    path = tmp_path / "courses" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "minizf.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


# ---- course files --------------------------------------------------------------------------------

def test_a_course_that_stubs_only_conv2d_backward_gives_it_ten_points(tmp_path):
    course = _course(tmp_path)
    done = _cli("assignment", "make", "conv", "--config", course, "--out", tmp_path / "hw")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "hw" / "conv"
    text = (folder / "conv.py").read_text()
    assert text.count("NotImplementedError") == 1 and "def conv2d_backward(" in text.split("# ---- To write")[1]
    assert "def im2col(" in text.split("# ---- To write")[0]                        # handed out solved
    assert "Given, already written in the file: `im2col`, `col2im`, `conv2d`" in (folder / "README.md").read_text()
    key = make("conv", tmp_path / "key", solution=True) / "conv.py"
    full = grade(key, seed=1, config=load(course), sandbox_mode=SANDBOX)
    assert full.max_score == pytest.approx(10) and full.score == pytest.approx(10)
    assert all("conv2d_backward" in r.name for r in full.results)
    assert any(r.hidden for r in full.results)
    stub = grade(folder, seed=1, config=load(course), sandbox_mode=SANDBOX)
    assert stub.score == 0 and stub.max_score == pytest.approx(10)          # the given functions earn nothing


def test_the_handed_out_course_file_makes_a_local_check_without_the_hidden_tests(tmp_path):
    course = _course(tmp_path)
    make("conv", tmp_path / "hw", stub=["conv2d_backward"], course_text=course.read_text())
    folder = tmp_path / "hw" / "conv"
    local = grade(folder, seed=1, sandbox_mode=SANDBOX)                     # the student's own run
    assert not any(r.hidden for r in local.results) and any("hidden test" in n for n in local.notes)
    instructor = grade(folder, seed=1, config=load(course), sandbox_mode=SANDBOX)
    assert len(instructor.results) == len(local.results) + 1


def test_without_partial_credit_a_group_counts_all_or_nothing(tmp_path):
    course = _course(tmp_path, "[layers]\npartial_credit = false\n")
    text = (BANK / "layers.py").read_text().replace("dy.sum(axis=0)", "dy.mean(axis=0)")   # linear_backward wrong
    path = tmp_path / "layers.py"
    path.write_text(text)
    partial = grade(path, seed=2, sandbox_mode=SANDBOX)
    strict = grade(path, seed=2, config=load(course), sandbox_mode=SANDBOX)
    assert partial.score == strict.score                      # linear_backward's group is one test here
    course2 = _course(tmp_path, "[pool]\npartial_credit = false\n", "pool.toml")
    pool = (BANK / "pool.py").read_text().replace("    if ceil_mode:", "    if False:")   # ceil mode ignored
    (tmp_path / "pool.py").write_text(pool)
    loose = grade(tmp_path / "pool.py", seed=2, sandbox_mode=SANDBOX)
    tight = grade(tmp_path / "pool.py", seed=2, config=load(course2), sandbox_mode=SANDBOX)
    forward = [r for r in tight.results if r.name.startswith("max_pool2d,")]
    assert 0 < loose.score and tight.score < loose.score and all(r.score == 0 for r in forward)


@pytest.mark.parametrize("text, words", [
    ("[convv]\n", "no assignment of that name"),
    ("[conv]\nstub = [\"relu\"]\n", "stub must list some of"),
    ("[conv]\npoints = { conv2d = -1 }\n", "points must map"),
    ("[conv]\npoints = { conv2d = inf }\n", "finite numbers"), ("[conv]\npoints = { conv2d = nan }\n", "finite"),
    ("[conv]\nhidden = " + "[" * 100000 + "]" * 100000 + "\n", "nested too deep"),
    ("# " + "x" * (300 << 10) + "\n", "KiB"),
    ("[conv]\nweights = 1\n", "unknown keys"),
    ("[conv\n", "not a valid TOML file"),
])
def test_a_wrong_course_file_is_one_line_naming_it(text, words, tmp_path):
    course = _course(tmp_path, text)
    done = _cli("assignment", "make", "conv", "--config", course, "--out", tmp_path / "hw")
    assert done.returncode == 2 and words in done.stderr and "course.toml" in done.stderr
    assert done.stderr.count("\n") == 1


# ---- the protocol, course files and the bundle, checked from what they must refuse or keep ---------

def _reader(data):
    """read(n) over bytes, recording what was asked."""
    asked, view = [], memoryview(data)

    def read(n):
        nonlocal view
        asked.append(n)
        if n > len(view):
            raise EOFError
        part, view = bytes(view[:n]), view[n:]
        return part
    return read, asked


def _message(meta, specs, payload):
    import struct
    header = json.dumps({"meta": meta, "arrays": specs}).encode()
    return struct.pack("<QQ", len(header), len(payload)) + header + payload


def test_a_message_whose_arrays_exceed_its_payload_is_refused():
    from minizf.course import protocol
    spec = [{"dtype": "<f8", "shape": [4]}]                        # 32 bytes of arrays, 16 announced
    read, _ = _reader(_message({"result": {"array": 0, "scalar": False}}, spec, bytes(16)) + bytes(64))
    with pytest.raises(protocol.Malformed, match="add up"):
        protocol.receive(read, 1 << 20)


def test_a_huge_header_is_refused_before_it_is_read():
    import struct
    from minizf.course import protocol
    read, asked = _reader(struct.pack("<QQ", protocol.MAX_HEADER + 1, 0) + b"{" * 64)
    with pytest.raises(protocol.Malformed):
        protocol.receive(read, 1 << 20)
    assert asked == [16]


def test_a_value_nested_deeper_than_the_cap_is_refused():
    from minizf.course import protocol
    node = {"v": 1.0}
    for _ in range(protocol.MAX_DEPTH + 2):
        node = {"seq": [node], "tuple": True}
    with pytest.raises(protocol.Malformed):
        protocol.decode(node, [])
    shallow = {"seq": [{"seq": [{"v": 1.0}], "tuple": True}], "tuple": True}
    assert protocol.decode(shallow, []) == ((1.0,),)


def test_a_test_named_by_two_stubbed_functions_counts_for_the_last():
    from minizf.course import config
    from minizf.course.suites import SUITES
    settings = config.Settings(stub=("im2col", "col2im"), points={"im2col": 4, "col2im": 6})
    tests = config.apply(SUITES["conv"], settings, "conv")
    adjoint = [t for t in tests if t.name.startswith("col2im is the transpose of im2col")]
    assert adjoint and all(t.group == "col2im" for t in adjoint)


@pytest.mark.parametrize("total", [7, 10, 3.3, 0.01, 100])
def test_each_function_scores_exactly_the_points_the_course_gives_it(total):
    from minizf.course import config
    from minizf.course.suites import SUITES
    for name, suite in SUITES.items():
        stubbed = config.Settings().stubbed(name)
        settings = config.Settings(points={fn: total for fn in stubbed})
        tests = config.apply(suite, settings, name)
        for fn in stubbed:
            shares = [t.points for t in tests if t.group == fn]
            assert not shares or sum(shares) == pytest.approx(total, abs=1e-9), (name, fn, shares)


def test_a_course_table_survives_its_own_toml(tmp_path):
    from minizf.course import config
    settings = config.Settings(stub=("col2im",), points={"col2im": 2.5}, partial_credit=False,
                               hidden=["*\\real*", 'a "quoted" one', "tab\there"])
    path = tmp_path / "course.toml"
    path.write_text(config.to_toml("conv", settings))
    back = config.load(path)["conv"]
    assert (back.stub, back.points, back.partial_credit, back.hidden) == \
        (settings.stub, settings.points, settings.partial_credit, tuple(settings.hidden))


def test_the_bundle_carries_every_source_and_template_of_the_package(tmp_path):
    done = _cli("assignment", "bundle", "pool", "--out", tmp_path / "a.zip")
    assert done.returncode == 0, done.stderr
    package = Path(minizf.__file__).resolve().parent
    wanted = {"minizf/" + p.relative_to(package).as_posix() for p in package.rglob("*")
              if p.suffix in (".py", ".html") and "__pycache__" not in p.parts}
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert wanted <= set(z.namelist()) and any(n.endswith(".html") for n in wanted)


def test_an_answer_off_by_more_than_the_tolerance_fails(tmp_path):
    # 5e-5 relative: far above float32 rounding for a few terms (1e-6), far below any bug of the bank.
    text = (BANK / "layers.py").read_text()
    off = text.replace("def relu(x):\n", "def relu(x):\n    return np.maximum(x, 0) * (1 + 5e-5)\n", 1)
    assert off != text
    path = tmp_path / "layers.py"
    path.write_text(off)
    report = grade(path, seed=1, sandbox_mode=SANDBOX)
    relu = [r for r in report.results if r.name.startswith("relu,") or r.name == "relu"]
    assert relu and all(not r.passed and "relative error" in r.output for r in relu)


def test_a_file_exactly_at_the_size_limit_is_graded(tmp_path):
    from minizf.course.sandbox import LIMITS
    text = (BANK / "pool.py").read_text()
    padded = text + "#" * (LIMITS.submission - len(text.encode()) - 1) + "\n"
    path = tmp_path / "pool.py"
    path.write_text(padded)
    assert path.stat().st_size == LIMITS.submission
    assert grade(path, seed=1, sandbox_mode=SANDBOX).score == 16
    path.write_text(padded + "#")
    with pytest.raises(ValueError, match="at most"):
        grade(path, seed=1, sandbox_mode=SANDBOX)


# ---- a roster ------------------------------------------------------------------------------------

def _roster(tmp_path):
    """30 students: correct (loops, scalar, the key), buggy (from the bug bank) and hostile ones."""
    from .test_course import BUGS
    from .test_sandbox import HARM_ROUTES, HONEST, WRONG, _fill
    roster = tmp_path / "roster"
    roster.mkdir()
    loops = (BANK / "conv.py").read_text()
    sources = {"loops": loops, "scalar": (BANK / "scalar" / "conv.py").read_text(),
               "key": (make("conv", tmp_path / "key", solution=True) / "conv.py").read_text()}
    for i, (name, bug, old, new, *_rest) in enumerate(b for b in BUGS if b[0] == "conv"):
        sources[f"bug{i}"] = loops.replace(old, new)
    layers = (BANK / "layers.py").read_text()
    for i, (_, body) in enumerate(HARM_ROUTES):
        text = layers.replace(HONEST, "def linear(x, W, b=None):\n" + _fill(body, port=9).lstrip("\n")) + WRONG
        sources[f"hostile{i}"] = text.replace('ASSIGNMENT = "layers"', 'ASSIGNMENT = "conv"')
    for i in range(30 - len(sources)):
        sources[f"copy{i}"] = loops
    for student, text in sources.items():
        (roster / student).mkdir()
        (roster / student / "conv.py").write_text(text)
    return roster


@pytest.mark.slow
def test_a_roster_of_thirty_is_graded_to_csv_in_parallel(tmp_path):
    roster = _roster(tmp_path)
    out = tmp_path / "grades.csv"
    done = _cli("grade", roster, "--assignment", "conv", "--csv", out, "--seed", "4", "--time-limit", "3",
                "--sandbox", SANDBOX)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["id"]: row for row in csv.DictReader(out.open())}
    assert len(rows) == 30
    for student in ("loops", "scalar", "key"):
        assert rows[student]["score"] == rows[student]["max_score"] == "27"
    assert all(float(rows[s]["score"]) < 27 for s in rows if s.startswith(("bug", "hostile")))
    assert "matches minizf" in rows["key"]["flags"]
    assert "matches copy0" in rows["loops"]["flags"] and "matches loops" in rows["copy0"]["flags"]
    assert "matches" not in rows["scalar"]["flags"]
    assert len({row["seed"] for row in rows.values()}) == 1               # everyone on the same inputs
    again = _cli("grade", roster, "--assignment", "conv", "--csv", out, "--sandbox", SANDBOX, "--time-limit", "3")
    assert "graded 0 of 30 students (30 unchanged" in again.stdout
    (roster / "scalar" / "conv.py").write_text((BANK / "conv.py").read_text())
    third = _cli("grade", roster, "--assignment", "conv", "--csv", out, "--sandbox", SANDBOX, "--time-limit", "3")
    assert "graded 1 of 30" in third.stdout
    assert {row["seed"] for row in csv.DictReader(out.open())} == {"4"}            # the roster's seed, kept


def test_a_broken_submission_costs_its_own_row_only(tmp_path):
    roster = tmp_path / "roster"
    (roster / "ann").mkdir(parents=True)
    (roster / "ann" / "pool.py").write_text((BANK / "pool.py").read_text())
    (roster / "ben").mkdir()                                                # handed in nothing
    (roster / "cat.py").write_text((BANK / "pool.py").read_text())
    out = tmp_path / "grades.csv"
    done = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--seed", "1", "--sandbox", SANDBOX)
    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in csv.DictReader(out.open())}
    assert rows["ann"]["score"] == rows["cat"]["score"] == "16"
    assert rows["ben"]["score"] == "0" and rows["ben"]["max_score"] == "16"
    assert rows["ben"]["status"].startswith("not graded: ") and rows["ann"]["status"] == "graded"


def test_no_student_can_break_a_roster_or_take_another_row(tmp_path):
    roster = tmp_path / "roster"
    roster.mkdir()
    honest = (BANK / "pool.py").read_text()
    bomb = honest + "\n\ndef _deep(x):\n    return " + " + ".join(["x"] * 1200) + "\n"
    files = {"bomb": bomb, '=HYPERLINK("evil.example","x")': honest, "alice": honest,
             "<script>alert(1)<": honest}
    for name, text in files.items():
        (roster / name).mkdir()
        (roster / name / "pool.py").write_text(text)
    (roster / "alice.py").write_text(honest)                                   # alice/ and alice.py
    odd = os.path.join(os.fsencode(roster), b"z\xff")                          # a name that is not UTF-8
    os.mkdir(odd)
    Path(os.fsdecode(odd), "pool.py").write_text(honest)
    out = tmp_path / "grades.csv"
    done = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--seed", "1", "--sandbox", SANDBOX)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    ids = [row["id"] for row in rows]
    assert sorted(ids) == sorted(["'=HYPERLINK(\"evil.example\",\"x\")", "alice", "alice.py", "bomb",
                                  "z\\xff", "<script>alert(1)<"])
    assert all(row["score"] == row["max_score"] == "16" and row["status"] == "graded" for row in rows), rows
    feedback = sorted(p.name for p in (tmp_path / "grades-feedback").iterdir())
    assert len(feedback) == 6 and all("/" not in name for name in feedback)
    hostile = next(p for p in (tmp_path / "grades-feedback").iterdir() if "script" in p.name).read_text()
    title, fenced = hostile.split("\n")[1], hostile.split("```")[1]
    assert title == "# &lt;script&gt;alert(1)&lt;"                      # outside the fence only as text
    assert "<script" not in hostile.replace(fenced, "")
    report = (tmp_path / "grades-feedback" / "alice.md").read_text()
    assert report.startswith("<!-- written by minizf") and "score 16 / 16" in report
    course = tmp_path / "course.toml"                                           # the course changes: regrade
    course.write_text("[pool]\npoints = { max_pool2d = 12 }\n")
    again = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--config", course, "--sandbox", SANDBOX)
    assert "graded 6 of 6" in again.stdout, again.stdout + again.stderr
    assert {row["seed"] for row in csv.DictReader(out.open(encoding="utf-8"))} == {"1"}


def test_the_graders_own_failure_on_one_file_costs_that_row_only(tmp_path, monkeypatch, capsys):
    from minizf.course import roster as roster_module
    folder = tmp_path / "roster"
    for name in ("ann", "bob", "cat"):
        (folder / name).mkdir(parents=True)
        (folder / name / "pool.py").write_text((BANK / "pool.py").read_text())
    real = roster_module.grade

    def flaky(path, **kwargs):                   # a bug of the grader's that one file sets off
        if "bob" in str(path):
            raise RuntimeError("an internal error")
        return real(path, **kwargs)
    monkeypatch.setattr(roster_module, "grade", flaky)
    out = tmp_path / "grades.csv"
    assert roster_module.grade_roster(folder, out, assignment="pool", seed=1, sandbox_mode=SANDBOX, jobs=1) == 0
    rows = {row["id"]: row for row in csv.DictReader(out.open())}
    assert rows["ann"]["score"] == rows["cat"]["score"] == rows["bob"]["max_score"] == "16"
    assert rows["bob"]["score"] == "0" and "the grader failed" in rows["bob"]["status"]


def test_a_course_file_inside_a_students_folder_never_sets_the_roster_grading(tmp_path):
    roster = tmp_path / "roster"
    (roster / "eve").mkdir(parents=True)
    (roster / "eve" / "pool.py").write_text((BANK / "pool.py").read_text().replace("    if ceil_mode:", "    if False:"))
    (roster / "eve" / "course.toml").write_text('[pool]\nstub = ["unpool"]\n')      # only what eve got right
    out = tmp_path / "grades.csv"
    done = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--seed", "1", "--sandbox", SANDBOX)
    assert done.returncode == 0, done.stderr
    row = next(csv.DictReader(out.open()))
    assert row["max_score"] == "16" and float(row["score"]) < 16


def test_a_csv_minizf_did_not_write_is_never_replaced(tmp_path):
    roster = tmp_path / "roster"
    (roster / "alice").mkdir(parents=True)
    (roster / "alice" / "pool.py").write_text("def f(): pass\n")
    out = tmp_path / "grades.csv"
    out.write_text("name,email\nAlice,alice@example.org\n")          # the class list, say
    done = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--sandbox", SANDBOX)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if "error" in line] == [done.stderr.strip()]
    assert "--csv" in done.stderr and "did not write" in done.stderr
    assert out.read_text() == "name,email\nAlice,alice@example.org\n"
    done = _cli("grade", roster, "--assignment", "pool", "--csv", out, "--sandbox", SANDBOX, "--force")
    assert done.returncode == 2 and out.read_text().startswith("name,email")     # --force regrades; no more


def test_a_roster_needs_its_assignment_named():
    done = _cli("grade", BANK, "--csv", "x.csv")
    assert done.returncode == 2 and "--assignment" in done.stderr


# ---- Gradescope's zip ------------------------------------------------------------------------------

TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
       "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def assert_gradescope_schema(results):
    """Gradescope's documented results.json: known keys only, numbers where numbers go."""
    assert set(results) <= TOP and isinstance(results["tests"], list)
    assert isinstance(results.get("score", 0), (int, float)) and results.get("visibility", "visible") in VISIBILITY
    for test in results["tests"]:
        assert set(test) <= TEST and isinstance(test["name"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test.get("status", "passed") in ("passed", "failed") and test.get("visibility") in VISIBILITY


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The bundle of conv (only conv2d_backward, 10 points, the real-layer test hidden), unpacked into a
    folder laid out like Gradescope's /autograder, with this Python's environment as its venv."""
    if SANDBOX == "none":                # a bundle never grades without a sandbox (test_gradescope.py: containers)
        pytest.skip(f"no bubblewrap sandbox here: {why_not_bwrap()}")
    root = tmp_path_factory.mktemp("ag")
    course = _course(root)
    done = _cli("assignment", "bundle", "conv", "--config", course, "--out", root / "autograder.zip")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(root / "autograder.zip") as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder", "course.toml", "minizf/cli.py", "minizf/course/worker.py"} <= set(names)
        assert not any(n.endswith((".npz", ".pyc")) for n in names)
        z.extractall(root / "autograder" / "source")
    (root / "autograder" / "venv" / "bin").mkdir(parents=True)
    (root / "autograder" / "venv" / "bin" / "python").symlink_to(sys.executable)
    setup = (root / "autograder" / "source" / "setup.sh").read_text()
    import numpy
    assert f"numpy=={numpy.__version__}" in setup and "bubblewrap" in setup
    return root / "autograder"


def test_a_bundle_never_grades_without_a_sandbox(tmp_path):
    done = _cli("assignment", "bundle", "conv", "--sandbox", "none", "--out", tmp_path / "a.zip")
    assert done.returncode == 2 and "--sandbox" in done.stderr and not (tmp_path / "a.zip").exists()


def _run_autograder(root, submission_text):
    submission = root / "submission"
    if submission.exists():
        for f in submission.iterdir():
            f.unlink()
    submission.mkdir(exist_ok=True)
    if submission_text is not None:
        (submission / "conv.py").write_text(submission_text)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "AUTOGRADER_ROOT": str(root)}, cwd=root)
    results = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_schema(results)
    return results, done


def test_the_autograder_grades_a_correct_submission_with_hidden_tests_marked(autograder):
    results, done = _run_autograder(autograder, (BANK / "conv.py").read_text())
    assert results["score"] == pytest.approx(10) and done.stdout.strip().endswith("score 10 / 10")
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
    assert all("conv2d_backward" in t["name"] for t in results["tests"])


def test_the_autograder_grades_a_buggy_and_a_hostile_submission(autograder):
    buggy = (BANK / "conv.py").read_text().replace("    dx = None\n    if input_grad:\n", "    if True:\n")
    results, _ = _run_autograder(autograder, buggy)
    assert 0 < results["score"] < 10
    hostile = (BANK / "conv.py").read_text().replace(
        "def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):\n",
        "def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):\n"
        "    import os\n    open(os.environ.get('AUTOGRADER_ROOT', '/autograder') + '/results/results.json', 'w')"
        ".write('{\"score\": 100}')\n")
    results, _ = _run_autograder(autograder, hostile)
    assert results["score"] == 0 and results["tests"]


def test_the_autograder_says_why_when_it_cannot_grade(autograder):
    results, _ = _run_autograder(autograder, None)                         # nothing handed in
    assert results["score"] == 0 and "grading could not run" in results["output"] and results["tests"] == []


# ---- notebooks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["pool", "lrn"])
def test_a_notebook_assignment_is_valid_runs_and_is_graded_from_its_tagged_cells(name, tmp_path):
    done = _cli("assignment", "make", name, "--format", "ipynb", "--out", tmp_path / "hw")
    assert done.returncode == 0 and f"{name}.ipynb" in done.stdout, done.stderr
    key = make(name, tmp_path / "key", solution=True, fmt="ipynb") / f"{name}.ipynb"
    nbformat = pytest.importorskip("nbformat")
    for path in (tmp_path / "hw" / name / f"{name}.ipynb", key):
        nbformat.validate(nbformat.read(str(path), as_version=4))
    # The solution notebook runs top to bottom, walkthrough included, as Jupyter would run it.
    cells = json.loads(key.read_text())["cells"]
    script = tmp_path / "run_all.py"
    script.write_text("\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert grade(key, seed=1, sandbox_mode=SANDBOX).score == grade(key, seed=1, sandbox_mode=SANDBOX).max_score
    assert grade(tmp_path / "hw" / name, seed=1, sandbox_mode=SANDBOX).score == 0


def test_only_the_tagged_cells_of_a_notebook_are_graded(tmp_path):
    key = make("pool", tmp_path / "key", solution=True, fmt="ipynb") / "pool.ipynb"
    nb = json.loads(key.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": ["def max_pool2d(*args):\n", "    raise SystemExit('untagged cells do not run')\n"]})
    path = tmp_path / "pool.ipynb"
    path.write_text(json.dumps(nb))
    report = grade(path, seed=1, sandbox_mode=SANDBOX)
    assert report.score == report.max_score


def test_a_helper_in_an_untagged_cell_is_graded_with_the_cells_that_use_it(tmp_path):
    from minizf.course.notebook import code_cell, dumps, notebook
    text = (BANK / "pool.py").read_text()
    helper = text[text.index("def _out("):text.index("def max_pool2d(")]
    graded = text.replace(helper, "")
    cells = [code_cell("import numpy as np\n\n\ndef _unused():\n    return 1\n"),        # defines nothing used
             code_cell(helper),                                                        # the forgotten tag
             code_cell("_out = None\nprint('a cell that runs code is never taken')\n"),
             code_cell(graded, tagged=True)]
    path = tmp_path / "pool.ipynb"
    path.write_text(dumps(notebook(cells)))
    report = grade(path, seed=1, sandbox_mode=SANDBOX)
    assert report.score == report.max_score == 16, [r.output for r in report.results if not r.passed]


@pytest.mark.parametrize("content, words", [
    ("not json at all", "not a notebook"), ('{"cells": 3}', "no list of cells"),
    ('{"cells": [{"cell_type": "code", "metadata": {"tags": []}, "source": "x = 1"}]}', "no cell tagged"),
])
def test_a_broken_notebook_is_one_line_naming_it(content, words, tmp_path):
    path = tmp_path / "pool.ipynb"
    path.write_text(content)
    done = _cli("grade", path, "--sandbox", SANDBOX)
    assert done.returncode == 2 and words in done.stderr and "pool.ipynb" in done.stderr
