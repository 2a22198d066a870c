"""The minizf command."""
import subprocess
import sys

import minizf


def run(*args):
    return subprocess.run([sys.executable, "-m", "minizf.cli", *args], capture_output=True, text=True)


def test_version():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"minizf {minizf.__version__}"


def test_info_lists_models():
    out = run("info")
    assert out.returncode == 0 and "zf-small" in out.stdout and "devices: cpu" in out.stdout


def test_info_says_how_many_threads_share_a_batch():
    import os
    out = subprocess.run([sys.executable, "-m", "minizf.cli", "info"], capture_output=True, text=True,
                         env=dict(os.environ, MINIZF_THREADS="3"))
    assert out.returncode == 0 and "cpu threads: 3" in out.stdout


def test_long_loops_show_progress_on_a_terminal_and_not_when_quiet(monkeypatch, capsys):
    import io

    from minizf.progress import steps

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.delenv("MINIZF_QUIET", raising=False)
    assert list(steps(range(3), "scanning conv5", unit="batch")) == [0, 1, 2]
    assert "scanning conv5" in screen.getvalue()
    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    monkeypatch.setenv("MINIZF_QUIET", "1")
    assert list(steps(range(3), "scanning conv5")) == [0, 1, 2] and quiet.getvalue() == ""
