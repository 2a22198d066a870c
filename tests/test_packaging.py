"""A non-editable install carries the bundled models, images and explorer pages as package data."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_wheel_holds_the_assets_and_finds_them_without_the_repository(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "wheel"), "-q"], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("minizf-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    assert {"minizf/assets/zf64.npz", "minizf/assets/samples/chelsea.jpg", "minizf/explorer/layer.html",
            "minizf/lessons/02_backprop_and_gradcheck.py", "minizf/lessons/exercises.py",
            "minizf/lessons/solutions/02_backprop_and_gradcheck.py"} <= names
    lessons = {f"minizf/lessons/{p.relative_to(ROOT / 'lessons')}" for p in (ROOT / "lessons").rglob("*.py")}
    assert lessons <= names, f"lessons missing from the wheel: {sorted(lessons - names)}"
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "minizf").rglob("*.py")}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)}"
    # Import the unpacked wheel, not this checkout, from a folder that is not the repository.
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import minizf.data as d; "
            "assert d.__file__.startswith(sys.argv[1]), d.__file__; "
            "print(d.ASSETS); net, mean, meta = d.bundled_model('zf64'); print(meta['model']); "
            "import minizf.cli; assert minizf.cli.build_parser()")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(tmp_path / "site" / "minizf" / "assets"), "zf64"]
    # A student with only the wheel lists, fetches and checks a lesson.
    lesson = ("import sys; sys.path.insert(0, sys.argv[1]); import minizf.cli as c; sys.argv = ['minizf'] + sys.argv[2:]; "
              "sys.exit(c.main())")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "site")}
    run = lambda *argv: subprocess.run([sys.executable, "-c", lesson, str(tmp_path / "site"), *argv],  # noqa: E731
                                       capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    listed = run("lesson", "list")
    assert listed.returncode == 0 and "16  data-parallel SGD is one allreduce" in listed.stdout, listed.stderr[-2000:]
    assert run("lesson", "get", "2", "--out", str(tmp_path / "mine")).returncode == 0
    checked = run("lesson", "check", str(tmp_path / "mine" / "02_backprop_and_gradcheck.py"))
    assert checked.returncode == 1 and "0 of 2 exercises passed" in checked.stdout, checked.stderr[-2000:]
