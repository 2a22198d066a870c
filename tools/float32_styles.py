"""How the grader's tolerances treat honest float32 work: ``python tools/float32_styles.py [SEEDS]``.

Grades correct submissions whose arithmetic runs in float32, in the styles
students write (plain loops from tests/bank/, the library's im2col solution,
einsum and tensordot over strided windows from tests/bank/float32/), on SEEDS
seeds each (default 100), without the sandbox (the sandbox does not change a
score), and prints how many seeds gave full marks and the worst test. The
README quotes its numbers; tests/test_course.py runs a few seeds of each.
"""
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minizf.course import ASSIGNMENTS, make  # noqa: E402
from minizf.course.grader import grade  # noqa: E402
from tests.test_course import FLOAT32  # noqa: E402 - the wrapper that runs a file's functions in float32

BANK = ROOT / "tests" / "bank"


def styles(folder):
    """{(assignment, style): file text}: every correct float32 style we have."""
    found = {}
    for name, assignment in ASSIGNMENTS.items():
        wrap = FLOAT32.replace("NAMES", repr(assignment.function_names))
        key = make(name, folder / "key", solution=True, force=True) / f"{name}.py"
        found[(name, "loops")] = (BANK / f"{name}.py").read_text() + wrap
        found[(name, "library (im2col)")] = key.read_text() + wrap
    for path in sorted((BANK / "float32").glob("*.py")):
        assignment, style = path.stem.split("_", 1)
        found[(assignment, style)] = path.read_text()
    return found


def main(seeds):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for (name, style), text in styles(folder).items():
            path = folder / f"{name}.py"
            path.write_text(text)
            full, lost = 0, {}
            for seed in range(seeds):
                report = grade(path, seed=seed, assignment=name, sandbox_mode="none")
                full += report.score == report.max_score
                for r in report.results:
                    if not r.passed:
                        lost[r.name] = r.output[:100]
            worst = f"; e.g. {next(iter(lost.items()))}" if lost else ""
            print(f"{name:<7} {style:<17} full marks on {full} of {seeds} seeds{worst}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
