"""``minizf lesson``: list the lessons shipped with minizf, copy one out, check a student's copy."""
import sys


def cmd_lesson(args):
    from ..tutor import catalog
    if args.action == "list":
        for lesson in catalog.lessons():
            print(f"{lesson.number:2d}  {lesson.title}  ({lesson.run_time})")
            print(f"    exercises: {', '.join(lesson.exercises) or 'none'}")
        return 0
    if not args.what:
        raise ValueError(f"lesson {args.action}: say which ({'a lesson number' if args.action == 'get' else 'FILE'})")
    if args.action == "get":
        from ..tutor.handout import hand_out
        path = hand_out(catalog.find(args.what), args.out or ".", args.format, args.force)
        print(f"wrote {path}; run it, write its exercises, then: minizf lesson check {path}")
        return 0
    from ..tutor.checking import run_copy
    outcomes = run_copy(args.what)
    width = max(len(o.exercise) for o in outcomes)
    for o in outcomes:
        print(f"{o.exercise:<{width}}  {o.status}{': ' + o.why if o.why else ''}")
    passed = sum(o.status == "passed" for o in outcomes)
    print(f"{passed} of {len(outcomes)} exercises passed", file=sys.stdout)
    return 0 if passed == len(outcomes) else 1


def add_commands(sub):
    q = sub.add_parser("lesson", help="the lessons: list them, get one as a script or notebook, check your "
                       "copy's exercises",
                       description="The numbered lessons shipped with minizf. `list` names each with its run "
                       "time and exercises; `get N --out DIR` writes lesson N (a # %% script, or with "
                       "--format ipynb a notebook); `check FILE` runs your copy and reports each exercise: "
                       "passed, failed with a hint, or not written (exit status 0 only when all passed).")
    q.add_argument("action", choices=["list", "get", "check"])
    q.add_argument("what", nargs="?", help="get: the lesson's number (or name, 05_top9); check: your file")
    q.add_argument("--out", default=None, help="get: the folder to write into (default: the current one)")
    q.add_argument("--format", choices=["py", "ipynb"], default="py", help="get: a script (py) or a notebook")
    q.add_argument("--force", action="store_true", help="get: replace a file of the same name (your copy)")
    q.set_defaults(run=cmd_lesson)
