"""The lessons' runner: what ``minizf lesson`` does with the lessons shipped as minizf.lessons.

* ``catalog``: each lesson's number, title, run time and exercises, read from its script;
* ``handout``: a lesson copied out for a student, as its ``# %%`` script or as a notebook;
* ``checking``: a student's copy run to the end, each exercise reported (passed, failed with
  its hint, not written).

This room looks down only: at the lessons' files and at minizf.notebooks.
"""
