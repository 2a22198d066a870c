"""``minizf mpirun``: run a command over MPI ranks (mpiexec underneath, one line when a rank dies)."""
import argparse
import sys

# The commands that split their work over ranks when given --distributed.
DISTRIBUTED = ("train", "topk", "explore", "transfer")
MAX_RANKS = 1024


def rank_count(text):
    """-n: a whole number of ranks, 1 to MAX_RANKS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ranks") from None
    if not 1 <= value <= MAX_RANKS:
        raise argparse.ArgumentTypeError(f"{value} ranks: give 1 to {MAX_RANKS}")
    return value


def cmd_mpirun(args):
    from ..distributed.launch import run
    argv = [args.program, *args.rest]
    if "--distributed" not in args.rest:
        argv.append("--distributed")
    args.parser.parse_args(argv)            # a mistyped flag is said once, here, before any rank starts
    after = "; run the same command with --resume to go on from the last checkpoint" \
        if args.program == "train" else ""
    status, line = run(args.ranks, argv, after)
    if line:
        print(f"minizf mpirun: {line}", file=sys.stderr)
    return status


def add_commands(sub):
    q = sub.add_parser("mpirun", help="run train, topk, explore or transfer over K MPI ranks: mpiexec -n K "
                       "minizf COMMAND ... --distributed, saying in one line which rank died if one does "
                       "(pip install 'minizf[mpi]')")
    q.add_argument("-n", "--ranks", type=rank_count, required=True, help="how many ranks (processes)")
    q.add_argument("program", choices=DISTRIBUTED, metavar="COMMAND", help=", ".join(DISTRIBUTED))
    q.add_argument("rest", nargs=argparse.REMAINDER, metavar="...", help="the command's own options "
                   "(--distributed is added)")
    q.set_defaults(run=cmd_mpirun)
