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
    assert {"minizf/assets/zf64.npz", "minizf/assets/samples/chelsea.jpg", "minizf/explorer/layer.html"} <= names
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
