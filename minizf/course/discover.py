"""Finding the assignment's file in what a student uploads.

A student is asked for ``conv.py`` and hands in ``conv (1).py`` (a second
download), ``conv-Copy1.ipynb`` (Jupyter's copy), ``hw1/conv/conv.py`` (the
folder they worked in) or a ``.zip`` of it. ``locate(folder, name)`` finds the
one file to grade, looking up to ``MAX_DEPTH`` folders down and into zip
files, and ranks what it finds, shallower before deeper (what was handed in
at the top first), then at one depth:

1. ``NAME.py``, then ``NAME.ipynb``;
2. a name that starts with NAME and then a space, ``-``, ``_``, ``(`` or ``.``
   (``conv (1).py``, ``conv-Copy1.ipynb``; not ``conv2d.py``);
3. a ``.py`` file whose ``ASSIGNMENT = "NAME"`` line names it;

``.py`` before ``.ipynb``, then by name. When more
than one file could be the assignment, the report says which was graded and
which were not. Walkthroughs, hidden files and links are never candidates;
every read is capped (a file at ``LIMITS.submission`` bytes, a zip member as
well, whatever its header claims), so a zip bomb costs nothing.
"""
import os
import re
import stat
import zipfile
from pathlib import Path

MAX_DEPTH = 3                   # folders below the submission folder
MAX_FILES = 2000                # entries looked at, zip members included
MAX_ZIP = 64 << 20              # bytes of a zip file to open
SUFFIXES = (".py", ".ipynb")


class Found:
    """A candidate file: where it is (for the report), how it ranks, and how to read its bytes."""

    def __init__(self, label, stem, suffix, depth, read):
        self.label, self.stem, self.suffix, self.depth, self.read = label, stem, suffix, depth, read

    def rank(self, name, marker_of):
        if self.stem == name:
            first = 0
        elif self.stem.startswith(name) and self.stem[len(name)] in " -_(.":
            first = 1
        elif self.suffix == ".py" and marker_of(self) == name:
            first = 2
        else:
            return None
        return self.depth, first, SUFFIXES.index(self.suffix), self.label


def _wanted(filename):
    stem, suffix = os.path.splitext(filename)
    return suffix in SUFFIXES and not filename.startswith(".") and not stem.endswith("_walkthrough")


def _zip_members(path, label, depth, limit):
    """Candidates inside a zip file (its members are read, capped, never extracted)."""
    try:
        if os.lstat(path).st_size > MAX_ZIP:
            return []
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()[:MAX_FILES]
    except (OSError, zipfile.BadZipFile, ValueError):
        return []
    found = []
    for info in infos:
        parts = [p for p in info.filename.split("/") if p]
        if info.is_dir() or not parts or not _wanted(parts[-1]) or len(parts) > MAX_DEPTH + 1:
            continue
        stem, suffix = os.path.splitext(parts[-1])

        def read(info=info):
            with archive.open(info) as member:
                return member.read(limit + 1)
        found.append(Found(f"{label}:{info.filename}", stem, suffix, depth + len(parts) - 1, read))
    return found


def candidates(folder, limit):
    """Every file in folder (and in zip files there) that could be an assignment, up to MAX_DEPTH down."""
    found, seen = [], 0
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__") if depth < MAX_DEPTH else []
        for filename in sorted(files):
            seen += 1
            if seen > MAX_FILES:
                return found
            path = os.path.join(root, filename)
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    continue                                 # links and devices are never candidates
            except OSError:
                continue
            if filename.endswith(".zip"):
                found += _zip_members(path, path, depth, limit)
            elif _wanted(filename):
                stem, suffix = os.path.splitext(filename)
                found.append(Found(path, stem, suffix, depth, lambda p=path: _read_capped(p, limit)))
    return found


def _read_capped(path, limit):
    with open(path, "rb") as f:
        return f.read(limit + 1)


def marker(text):
    """The assignment a file's ``ASSIGNMENT = "NAME"`` line names, or None."""
    match = re.search(r"^ASSIGNMENT\s*=\s*['\"](\w+)['\"]", text, flags=re.M)
    return match.group(1) if match else None


def locate(folder, name, limit):
    """(the Found to grade, a note naming the others that could have been, or None); ValueError if none."""
    def marker_of(found):
        try:
            return marker(found.read().decode("utf-8", errors="replace"))
        except (OSError, zipfile.BadZipFile, ValueError, RuntimeError):
            return None
    ranked = sorted((r, f) for f in candidates(folder, limit) for r in [f.rank(name, marker_of)] if r)
    if not ranked:
        raise ValueError(f"{folder}: no {name}.py or {name}.ipynb in this folder (nor a file named like "
                         f"'{name} (1).py', one with the line ASSIGNMENT = \"{name}\", or a .zip holding one)")
    best = ranked[0][1]
    others = [f.label for _, f in ranked[1:]]
    note = None
    if others:
        note = (f"several files could be the assignment: graded {best.label}; not {', '.join(others[:4])}"
                + (f" and {len(others) - 4} more" if len(others) > 4 else ""))
    return best, note
