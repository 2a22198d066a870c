"""Smoke test: every lesson runs top to bottom and writes its figures."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.py"))
#: Lessons that train networks (even in their quick form): left out of `pytest -m "not slow"`.
SLOW = ("04", "11", "12", "13")


@pytest.mark.parametrize("lesson", [pytest.param(p, marks=pytest.mark.slow) if p.stem[:2] in SLOW else p
                                    for p in LESSONS], ids=[p.stem for p in LESSONS])
def test_lesson_runs(lesson, tmp_path):
    env = dict(os.environ, MINIZF_OUT=str(tmp_path), MPLBACKEND="Agg", MINIZF_QUICK="1")
    done = subprocess.run([sys.executable, str(lesson)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    pngs = list(tmp_path.glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
