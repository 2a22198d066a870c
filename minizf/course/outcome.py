"""What grading is made of: a test, how it can fail, and what a graded run returns.

The bottom of the course package: the suites, the comparisons, the student's
process and the grader all use these, and this module uses none of them.
"""
from dataclasses import dataclass, field


class StudentError(Exception):
    """The student's code raised, timed out, or sent something unusable."""


class Fail(Exception):
    """A test's comparison failed; the message says where and how."""


@dataclass
class Test:
    """One graded check: ``run(student, rng)`` returns what it compared, or raises Fail.

    ``time_limit`` (seconds of wall clock), when set, replaces the run's per-test limit. A ``gate``
    test runs a function on inputs of a real layer's size: when it times out, the function's other
    tests do not count (a backward computed by finite differences passes small tests, not this one).
    """
    name: str
    points: int
    functions: tuple
    run: object = field(repr=False)
    time_limit: float = None
    gate: bool = False
    group: str = None           # the function it counts for (config.apply sets it)
    hidden: bool = False        # run only when the instructor grades


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    output: str
    seconds: float = 0.0
    hidden: bool = False

    @property
    def passed(self):
        return self.score == self.max_score


@dataclass
class Report:
    assignment: str
    path: str
    seed: int
    results: list
    sandbox: str = "bwrap"
    runs_as: str = "nobody"                       # whom the student's code ran as
    notes: list = field(default_factory=list)     # provenance, a pinned assignment, ... for the instructor
    seconds: float = 0.0

    @property
    def score(self):
        return sum(r.score for r in self.results)

    @property
    def max_score(self):
        return sum(r.max_score for r in self.results)
