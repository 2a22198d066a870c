"""Coursework made from the library: assignments for students, a grader for instructors.

* ``assignments``: which functions each assignment asks for; ``make`` writes the
  student file (stubs), its README and a walkthrough, or the solution.
* ``grader``: runs a student's file in a separate process and scores it against
  the library, with hints for the classic bugs.

This room only looks down: it uses ``minizf.functional`` and ``minizf.check``,
and nothing below imports it.
"""
from .assignments import ASSIGNMENTS, get, make

__all__ = ["ASSIGNMENTS", "get", "make"]
