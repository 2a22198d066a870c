"""Progress on a terminal: a long loop of an experiment shows how far it is (tqdm).

Only where someone watches: the bar appears when stderr is a terminal and not
under ``MINIZF_QUIET=1`` (what the commands' ``--quiet`` sets); redirected
output, tests and pages stay clean.
"""
import os


def steps(iterable, what, total=None, unit="it"):
    """``iterable`` with a bar "what: k/total" while it runs; the bar goes when the loop ends."""
    from tqdm import tqdm
    quiet = os.environ.get("MINIZF_QUIET") == "1"
    return tqdm(iterable, desc=what, total=total, unit=unit, leave=False, mininterval=1.0,
                disable=True if quiet else None)
