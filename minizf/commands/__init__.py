"""The ``minizf`` subcommands, one module per group; ``minizf.cli`` builds the parser from them.

common: argument types and the options every figure command shares;
training: train, evaluate; figures: the Sec. 4 figures and the explorer;
section5: features, ablation, transfer; convert: export; parallel: mpirun. The coursework
commands (assignment, grade) live with the course, in ``minizf.course.commands``.
"""
