"""Writing a whole folder of pages (the explorer, the tour) without harming what is already there.

    with new_site("explore", force=False) as site:
        ...write into site.path...          # a fresh folder beside the target
    # only now does the new folder take the target's place

Rules, so a command never overwrites or deletes what it did not write:

* the target may not be the current folder (or one above it), nor lie inside the installed
  minizf package (whose templates it would overwrite);
* an existing non-empty target must be a site minizf made (it holds ``.minizf-site``,
  which lists every file minizf wrote there); any other is refused unless ``force``, and
  even then it is moved aside, never deleted; a site of minizf's in which anything else
  has appeared since (your notes, a folder of yours) is moved aside too, with a line
  naming where, and only a site holding nothing but minizf's own files is deleted;
* the new site is written in full beside the target and swapped in at the end: an error
  or a kill midway leaves the old site as it was (and a ``.NAME.partial-*`` folder);
* ``keep`` names sub-folders of the old site carried into the new one (the tour keeps the
  unit explorer a separate ``minizf explore`` wrote into it).
"""
import os
import shutil
import tempfile
import time
from contextlib import contextmanager

MARKER = ".minizf-site"
MANIFEST = "written by minizf; the next run may replace this folder. The files it wrote:\n"
PACKAGE = os.path.dirname(os.path.realpath(__file__))


class Site:
    """The staging folder to write into, and where an old foreign folder went (if one was moved)."""

    def __init__(self, path):
        self.path = path
        self.moved_aside = None


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check(out, force=False, flag="--out", keep=()):
    """Refuse a target that new_site may not replace, before any work; returns its absolute path.

    A folder holding only minizf sites named in ``keep`` (the tour's explore/) counts as minizf's."""
    target = os.path.realpath(out)
    if _inside(os.path.realpath(os.getcwd()), target):
        raise ValueError(f"{flag} {out}: is the current folder (or holds it); name a folder for the site")
    if _inside(target, PACKAGE):
        raise ValueError(f"{flag} {out}: is inside the installed minizf package; write the site elsewhere")
    if os.path.exists(target) and not os.path.isdir(target):
        raise ValueError(f"{flag} {out}: is a file, not a folder")
    foreign = [name for name in os.listdir(target) if not (name in keep and ours(os.path.join(target, name)))] \
        if os.path.isdir(target) else []
    if foreign and not ours(target) and not force:
        raise ValueError(f"{flag} {out}: holds files minizf did not write; choose a new folder, or pass "
                         "--force to move that one aside (nothing in it is deleted)")
    return target


def ours(folder):
    return os.path.isfile(os.path.join(folder, MARKER))


def _files(folder):
    """Every file below folder, as paths relative to it (sorted; links count as files, never followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        rel = os.path.relpath(root, folder)
        found += [os.path.normpath(os.path.join(rel, name)) for name in files + links]
    return sorted(found)


def _foreign(folder):
    """Files in a site of minizf's that its manifest does not list (all of them where it has none);
    a site inside it (the tour's explore/) answers for its own files."""
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return ["(unreadable marker)"]
    listed = set(text[len(MANIFEST):].splitlines()) if text.startswith(MANIFEST) else None
    inner = sorted({os.path.dirname(name) for name in _files(folder)
                    if os.path.basename(name) == MARKER and os.path.dirname(name)})
    present = [name for name in _files(folder) if name != MARKER
               and not any(name.startswith(sub + os.sep) for sub in inner)]
    foreign = present if listed is None else [name for name in present if name not in listed]
    for sub in inner:
        foreign += [os.path.join(sub, name) for name in _foreign(os.path.join(folder, sub))]
    return foreign


@contextmanager
def new_site(out, force=False, keep=(), flag="--out"):
    """Yield a Site whose folder becomes ``out`` when the block ends without an error."""
    target = check(out, force, flag, keep)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    site = Site(tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.partial-", dir=parent))
    try:
        yield site
        with open(os.path.join(site.path, MARKER), "w") as f:     # before keep: a kept site lists its own
            f.write(MANIFEST + "".join(f"{name}\n" for name in _files(site.path)))
        for name in keep:
            old = os.path.join(target, name)
            if os.path.isdir(old) and not os.path.exists(os.path.join(site.path, name)):
                os.rename(old, os.path.join(site.path, name))
        site.moved_aside = _swap(site.path, target)
    except BaseException:
        shutil.rmtree(site.path, ignore_errors=True)
        raise


def _swap(staging, target):
    """Put staging in target's place; returns where a foreign old folder was moved, else None."""
    if os.path.isdir(target) and not os.listdir(target):
        os.rmdir(target)
    if not os.path.exists(target):
        os.rename(staging, target)
        return None
    mine = ours(target) and not _foreign(target)         # nothing of yours in it: it may go
    aside = f"{target}.{'old' if mine else 'replaced'}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    os.rename(target, aside)
    os.rename(staging, target)
    if mine:
        shutil.rmtree(aside, ignore_errors=True)
        return None
    return aside
