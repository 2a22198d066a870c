"""The Gradescope bundle on Gradescope's Pythons, in a Docker-like container, against the hostile bank.

Gradescope builds an image from ``setup.sh`` and runs ``run_autograder`` as
root in a Docker container started with Docker's defaults: no CAP_SYS_ADMIN,
Docker's seccomp profile, so no namespaces and no bubblewrap. Without Docker,
``container_env.sh`` makes the same (a private mount namespace for the fake
/autograder and a copy of /etc, then ``dockerlike.py``: Docker's capabilities
and seccomp profile). For Python 3.10 (Ubuntu 22.04) and 3.12 (24.04), from
pyenv: setup.sh succeeds, bubblewrap fails as in Docker and the container
tier grades, a correct submission gets full marks twice with one seed,
results.json has Gradescope's keys, and every hostile submission of the bank
earns nothing and leaves nothing (no process, no file of the student's user,
the grader's files unchanged). A roster in the same container loses no
student to another's attack.

Needs root, unshare, setpriv, libseccomp, pyenv's 3.10 and 3.12 and PyPI
(setup.sh installs NumPy); skips with the reason elsewhere. CI runs it.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from minizf.course import make
from minizf.course.container import processes_of
from minizf.course.seccomp import available as seccomp_available

from .test_sandbox import BAD_RESULTS, BANK, HARM_ROUTES, HONEST, KEY_ROUTES, WRONG

HERE = Path(__file__).resolve().parent
PYENV = Path("/root/.pyenv/versions")
GRADESCOPE_KEYS = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests",
                   "output_format", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}


def _python(minor):
    found = sorted(PYENV.glob(f"3.{minor}.*/bin/python3.{minor}")) if PYENV.is_dir() else []
    return found[-1] if found else None


def _why_skip(minor):
    if os.geteuid() != 0:
        return "needs root (a private mount namespace, a user added to a copy of /etc)"
    for tool in ("unshare", "setpriv", "useradd"):
        if shutil.which(tool) is None:
            return f"needs {tool} (util-linux, passwd)"
    if not seccomp_available():
        return "needs libseccomp"
    if not os.path.isdir("/srv") or os.listdir("/srv"):
        return "needs an empty /srv to mount the fake container's files on"
    if _python(minor) is None:
        return f"needs pyenv's Python 3.{minor} (Gradescope's image's Python)"
    return None


pytestmark = [pytest.mark.slow]
CONTAINER_PYTHON = "/srv/autograder/venv/bin/python"


class Container:
    """A fake Gradescope image: SIM holds autograder/ (source, venv, submission, results) and etc/."""

    def __init__(self, sim, python):
        self.sim, self.python = sim, python

    def run(self, *command, timeout=600):
        env = {"PATH": f"{self.python.parent}:/usr/sbin:/usr/bin:/sbin:/bin", "AUTOGRADER_ROOT": "/srv/autograder",
               "MINIZF_SETUP_NO_APT": "1", "LANG": "C.UTF-8", "HOME": "/root"}
        return subprocess.run([str(HERE / "container_env.sh"), str(self.sim), sys.executable, "env", "-i",
                               *[f"{k}={v}" for k, v in env.items()], *command],
                              capture_output=True, text=True, timeout=timeout)

    def grade(self, text, *extra):
        """Grade text as the submission, as run_autograder does (with extra flags); (process, results)."""
        submission = self.sim / "autograder" / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        (submission / "layers.py").write_text(text)
        key = make("layers", self.sim / "key", solution=True, force=True) / "layers.py"
        (submission / "key.py").write_text(key.read_text())          # an answer key lying beside it
        results = self.sim / "autograder" / "results" / "results.json"
        if results.exists():
            results.unlink()
        if not extra:
            done = self.run("bash", "/srv/autograder/source/run_autograder")
        else:
            done = self.run("sh", "-c", 'cd /srv/autograder/source && PYTHONPATH=. "$0" -m minizf.cli grade '
                            '/srv/autograder/submission --assignment layers --config course.toml '
                            '--json /srv/autograder/results/results.json "$@"', CONTAINER_PYTHON, *extra)
        return done, json.loads(results.read_text()) if results.exists() else None

    def uid(self):
        for line in (self.sim / "etc" / "passwd").read_text().splitlines():
            if line.startswith("minizf-student:"):
                return int(line.split(":")[2])
        return None

    def digest(self):
        digest = hashlib.sha256()
        for path in sorted((self.sim / "autograder" / "source").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
        return digest.hexdigest()


@pytest.fixture(scope="module", params=[10, 12], ids=["python3.10", "python3.12"])
def container(request, tmp_path_factory):
    reason = _why_skip(request.param)
    if reason:
        pytest.skip(reason)
    sim = tmp_path_factory.mktemp(f"gradescope-3{request.param}")
    sim.chmod(0o755)
    for folder in ("autograder/source", "autograder/submission", "pyenv"):
        (sim / folder).mkdir(parents=True)
    shutil.copytree("/etc", sim / "etc", symlinks=True)
    zipped = sim / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "assignment", "bundle", "layers", "--out", str(zipped)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(sim / "autograder" / "source")
    box = Container(sim, _python(request.param))
    done = box.run("sh", "-c", "cd /srv/autograder/source && bash setup.sh")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"Python 3.{request.param}" in done.stdout
    assert box.uid() is not None and box.uid() != 0
    return box


def test_setup_makes_a_container_where_bubblewrap_fails_as_in_docker(container):
    said = container.run(CONTAINER_PYTHON, "-c", "import sys; sys.path.insert(0, '/srv/autograder/source'); "
                         "from minizf.course.sandbox import why_not_bwrap, resolve; print(why_not_bwrap()); "
                         "print(resolve('auto'))")
    lines = said.stdout.splitlines()
    assert said.returncode == 0, said.stderr
    assert "No permissions to create new namespace" in lines[0] or "Operation not permitted" in lines[0]
    assert lines[1] == "container"
    modes = {p.name: p.stat().st_mode & 0o777 for p in (container.sim / "autograder" / "source").iterdir()}
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_check_sandbox_measures_the_container_tier(container):
    done = container.run("sh", "-c", "cd /srv/autograder/source && PYTHONPATH=. " + CONTAINER_PYTHON +
                         " -m minizf.cli grade --check-sandbox")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("sandbox: container") and "NOT STOPPED" not in done.stdout
    assert "open         read /etc/passwd" in done.stdout and "11 of 13 stopped (2 open by design" in done.stdout


def test_a_correct_submission_gets_full_marks_and_the_same_seed_again(container):
    key = (make("layers", container.sim / "key", solution=True, force=True) / "layers.py").read_text()
    done, results = container.grade(key)
    assert done.returncode == 0, done.stderr
    assert results is not None and results["score"] == results["extra_data"]["max_score"] == 16
    assert set(results) <= GRADESCOPE_KEYS and all(set(t) <= TEST_KEYS for t in results["tests"])
    assert all(t["status"] == "passed" for t in results["tests"])
    assert results["extra_data"]["sandbox"] == "container"
    again = container.grade(key)[1]
    assert again["extra_data"]["seed"] == results["extra_data"]["seed"] and again["score"] == 16
    honest = container.grade((BANK / "layers.py").read_text())[1]
    assert honest["score"] == 16 and honest["extra_data"]["seed"] != results["extra_data"]["seed"]


def _hostile(body, fill=True, **more):
    text = (BANK / "layers.py").read_text()
    if fill:                                  # the routes name the container's paths (str.format fields)
        body = body.format(python=CONTAINER_PYTHON, package_parent="/srv/autograder/source",
                           package="/srv/autograder/source/minizf", **more)
    return text.replace(HONEST, "def linear(x, W, b=None):\n" + body.lstrip("\n")) + WRONG


CONTAINER_ROUTES = [
    ("kills every process it may signal", """
    import os
    for pid in [-1] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return _wrong(x, W)
"""),
    ("fills /tmp, /var/tmp and /dev/shm", """
    import os
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        for i in range(3):
            try:
                with open(os.path.join(folder, "minizf-hostile-%d" % i), "wb") as f:
                    f.write(bytes(8 << 20))
            except OSError:
                pass
    return _wrong(x, W)
"""),
    ("reads the grader's environment and command line through /proc", """
    import os
    raise RuntimeError(open("/proc/%d/environ" % os.getppid()).read())
"""),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_RESULTS], ids=[n for n, _ in BAD_RESULTS])
def test_answers_of_the_wrong_form_cost_their_test_only(body, container):
    done, results = container.grade(_hostile(body, fill=False), "--time-limit", "3")
    tests = {t["name"]: t for t in results["tests"]}
    assert done.returncode == 0 and tests["linear"]["score"] == 0 and tests["linear"]["output"]
    assert sum(t["score"] for t in tests.values()) == 15


def _left_behind(uid):
    files = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        for root, dirs, names in os.walk(folder):
            files += [os.path.join(root, n) for n in dirs + names
                      if os.lstat(os.path.join(root, n)).st_uid == uid]
    return processes_of(uid), files


@pytest.mark.parametrize("route", [r for _, r in KEY_ROUTES + HARM_ROUTES + CONTAINER_ROUTES],
                         ids=[n for n, _ in KEY_ROUTES + HARM_ROUTES + CONTAINER_ROUTES])
def test_no_hostile_submission_earns_or_harms_anything(route, container):
    import socket
    before = container.digest()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    try:
        done, results = container.grade(_hostile(route, port=server.getsockname()[1]), "--time-limit", "3")
        with pytest.raises(OSError):
            server.accept()                       # nobody reached the grader's socket
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-2000:]
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["linear"]["score"] == 0
    assert sum(t["score"] for t in tests.values()) == 15     # the honest functions keep every point
    lines = done.stdout.splitlines()
    assert lines[-1] == f"score {results['score']:g} / 16"
    assert "AUTOGRADER_ROOT" not in done.stdout          # the grader's environment (the image's /etc is no secret)
    assert [line for line in lines if line.startswith("score")] == lines[-1:]
    assert container.digest() == before
    assert _left_behind(container.uid()) == ([], [])
    assert set(os.listdir(container.sim / "autograder" / "results")) <= {"results.json", "report.txt", "error.txt"}


def test_a_roster_in_the_container_loses_no_student_to_another(container):
    roster = container.sim / "roster"
    shutil.rmtree(roster, ignore_errors=True)
    roster.mkdir(mode=0o700)
    attack = dict(CONTAINER_ROUTES)["kills every process it may signal"]
    students = {"a-attacker": _hostile(attack), "b-honest": (BANK / "layers.py").read_text(),
                "c-leaves-a-process": _hostile(dict(HARM_ROUTES)["leaves a process spinning after grading"]),
                "d-honest": (BANK / "layers.py").read_text()}
    for name, text in students.items():
        (roster / name).mkdir()
        (roster / name / "layers.py").write_text(text)
    out = container.sim / "out"
    out.mkdir(exist_ok=True)
    done = container.run("sh", "-c", "cd /srv/autograder/source && PYTHONPATH=. " + CONTAINER_PYTHON +
                         " -m minizf.cli grade /srv/roster --assignment layers --csv /srv/out/grades.csv "
                         "--time-limit 3 --jobs 2")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split(",")[0]: line.split(",")[1] for line in (out / "grades.csv").read_text().splitlines()[1:]}
    assert rows == {"a-attacker": "15", "b-honest": "16", "c-leaves-a-process": "15", "d-honest": "16"}
    assert "one student at a time" in done.stdout
    assert _left_behind(container.uid()) == ([], [])


def test_a_readable_answer_key_is_refused_in_one_line(container):
    source = container.sim / "autograder" / "source"
    source.chmod(0o755)
    (source / "minizf").chmod(0o755)
    try:
        done, results = container.grade((BANK / "layers.py").read_text())
    finally:
        source.chmod(0o700)
        (source / "minizf").chmod(0o700)
    assert results["score"] == 0 and results["tests"] == []
    assert "grading could not run" in results["output"] and "chmod -R go-rwx /srv/autograder/source/minizf" in \
        results["output"]
