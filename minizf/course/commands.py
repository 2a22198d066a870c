"""The course's commands: ``minizf assignment list|make`` and ``minizf grade``."""
import sys

from . import assignments, config


def cmd_assignment(args):
    if args.action == "list":
        for a in assignments.ASSIGNMENTS.values():
            print(f"{a.name:<8} {a.title}: {', '.join(a.function_names)}")
        return 0
    if not args.name:
        raise ValueError(f"assignment {args.action}: name one of: {', '.join(assignments.ASSIGNMENTS)}")
    settings = _settings(args)
    if args.action == "bundle":
        from .bundle import bundle
        path = bundle(args.name, args.target or "autograder.zip", settings, args.config, sandbox_mode=args.sandbox,
                      force=args.force)
        print(f"wrote {path}: upload it as the Gradescope autograder of {args.name!r} "
              f"(setup.sh installs minizf and NumPy; run_autograder grades into results.json)")
        return 0
    course_text = None if settings.source is None else config.to_toml(args.name, settings)
    from .suites import SUITES
    tests = config.apply(SUITES[args.name], settings, args.name)
    folder = assignments.make(args.name, args.target or ".", solution=args.solution, force=args.force,
                              stub=settings.stub, course_text=course_text, tests=tests, fmt=args.format)
    kind = "the SOLUTION (keep it from students)" if args.solution else "the student version"
    files = f"{args.name}.ipynb, README.md" if args.format == "ipynb" else \
        f"{args.name}.py, README.md, {args.name}_walkthrough.py"
    print(f"wrote {kind} of {args.name!r} to {folder}/: {files}")
    if not args.solution:
        print(f"students write {args.name}.{args.format}, then run: minizf grade {folder}")
    return 0


def cmd_grade(args):
    from ..io import check_replaceable, check_writable
    from .grader import grade
    from .report import format_line, format_report, header, write_json
    if args.check_sandbox:
        from .probe import check_sandbox
        return check_sandbox(args.sandbox)
    if not args.path:
        raise ValueError("grade: name the student's file or folder (or pass --check-sandbox)")
    if args.json:
        check_writable(args.json)
        check_replaceable(args.json, "--json")      # results.json of an earlier grading, or nothing
    course = config.load(args.config) if args.config else None
    if args.csv:
        from .roster import grade_roster
        return grade_roster(args.path, args.csv, assignment=args.assignment, course=course, seed=args.seed,
                            time_limit=args.time_limit, sandbox_mode=args.sandbox, force=args.force,
                            jobs=args.jobs, secret=[args.config] if args.config else [])
    report = grade(args.path, seed=args.seed, time_limit=args.time_limit,
                   progress=None if args.quiet else lambda r: print(format_line(r), flush=True),
                   assignment=args.assignment, sandbox_mode=args.sandbox, config=course,
                   secret=[args.config] if args.config else [], output=[_folder(args.json)] if args.json else [])
    if args.quiet:
        print(format_report(report))
    else:                                     # the tests were printed as they ran; then what and how
        print("\n".join(header(report) + [f"score {report.score:g} / {report.max_score:g}"]))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _folder(path):
    import os
    return os.path.dirname(os.path.abspath(path))


def _settings(args):
    """The course file's Settings for the assignment named on the command line (defaults without one)."""
    loaded = config.load(args.config) if args.config else None
    return config.for_assignment(loaded, args.name)


def _seconds(text):
    import argparse
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < 86400:                 # inf and nan included
        raise argparse.ArgumentTypeError(f"must be more than 0 and less than a day, got {text}")
    return value


def add_commands(sub):
    """Register the course's commands on the main parser's subparsers."""
    p = sub.add_parser("assignment", help="coursework: list the assignments, or write one for students "
                       "(stubs) or instructors (--solution)",
                       description="Write an assignment made from minizf's own source: NAME.py with the "
                       "functions to write (signatures and docstrings of minizf.functional, bodies "
                       "stubbed), README.md with the task and its conventions, and a walkthrough.")
    p.add_argument("action", choices=["list", "make", "bundle"],
                   help="list the assignments; make one (a folder for students, or the key); bundle one as "
                   "Gradescope's autograder zip")
    p.add_argument("name", nargs="?", choices=list(assignments.ASSIGNMENTS), help="the assignment to make")
    p.add_argument("--out", dest="target", default=None, help="make: folder to write NAME/ into (default: the "
                   "current folder); bundle: the zip to write (default: autograder.zip)")
    p.add_argument("--config", default=None, help="a course file (TOML): functions to stub, points, partial "
                   "credit, hidden tests")
    p.add_argument("--sandbox", choices=["auto", "bwrap", "container"], default="auto",
                   help="bundle: how run_autograder isolates the student's code (default auto: bubblewrap "
                   "where it can make namespaces, else the container tier; never none)")
    p.add_argument("--solution", action="store_true", help="write the reference bodies (for instructors)")
    p.add_argument("--format", choices=["py", "ipynb"], default="py",
                   help="make: NAME.py and a # %%%% walkthrough (py), or one Jupyter notebook (ipynb)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.py (or bundle zip)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p.set_defaults(run=cmd_assignment)

    p = sub.add_parser("grade", help="grade a student's assignment file: one line per test, then the score",
                       description="Run a student's file in a bubblewrap sandbox (no network, no files but "
                       "its own, no minizf or torch, no new processes, limited memory and time) and compare its "
                       "functions with minizf's on inputs drawn afresh: forward values, switches, gradients "
                       "against the reference and central differences, adjoint identities. Prints one line per "
                       "test and 'score S / M'.")
    p.add_argument("path", nargs="?", help="the student's NAME.py, or the folder holding it")
    p.add_argument("--assignment", choices=list(assignments.ASSIGNMENTS), default=None,
                   help="the assignment to grade it as (default: the folder's name, else the file's)")
    p.add_argument("--sandbox", choices=["auto", "bwrap", "container", "none"], default="auto",
                   help="isolate the student's code with bubblewrap (bwrap: namespaces), or where those "
                   "cannot be made, as in Docker, as a dedicated user under seccomp (container); auto picks "
                   "the first that works here; none: not at all (only on a machine you can wipe)")
    p.add_argument("--check-sandbox", action="store_true",
                   help="try what a hostile submission would (read a file, open a socket, start a process, "
                   "outlive the grader) and print what the sandbox stopped")
    p.add_argument("--json", default=None, help="also write Gradescope's results.json here")
    p.add_argument("--config", default=None, help="the course file (TOML) to grade by: points, partial credit, "
                   "stubs; hidden tests run and are marked")
    p.add_argument("--csv", default=None, help="grade PATH as a roster (one sub-folder or file per student) "
                   "into this CSV, one row per student")
    p.add_argument("--jobs", type=int, default=None, help="--csv: students graded at once (default: the cores)")
    p.add_argument("--force", action="store_true", help="--csv: grade again students already in the CSV")
    p.add_argument("--seed", type=int, default=None, help="draw the inputs from this seed (default: a new one)")
    p.add_argument("--time-limit", type=_seconds, default=30.0, help="seconds per test (default 30)")
    p.add_argument("--quiet", action="store_true", help="print the report at the end only")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p.set_defaults(run=cmd_grade)
