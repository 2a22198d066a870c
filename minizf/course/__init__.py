"""Coursework made from the library: assignments for students, a grader for instructors.

* ``assignments``: which functions each assignment asks for; ``make`` writes the
  student file (stubs), its README and a walkthrough, or the solution.
* ``grader``: pins the assignment, reads the submission once, runs its suite and
  returns a Report (``outcome``), printed or written as results.json by ``report``.
* ``student``, ``worker``, ``protocol``: the student's process as the grader sees it,
  the script that runs inside it, and the checked messages between the two.
* ``sandbox``, ``seccomp``, ``probe``: the operating-system sandbox (bubblewrap,
  resource limits, no new processes) and ``--check-sandbox``, which measures it.
* ``static``: what the grader reads before running (reaching for the library; provenance).
* ``suites``, ``compare``: the graded tests and how answers are compared.
* ``config``, ``notebook``, ``bundle``, ``roster``: a course file (stubs, points, hidden tests),
  assignments as notebooks, Gradescope's autograder zip, a roster graded to CSV.

Imports only look down: suites -> compare -> outcome; roster -> grader -> student -> sandbox -> seccomp;
``worker`` and ``protocol`` import nothing of minizf (they are all of it inside the sandbox).
Nothing outside this package imports it but the command line.
"""
from .assignments import ASSIGNMENTS, get, make

__all__ = ["ASSIGNMENTS", "get", "make"]
