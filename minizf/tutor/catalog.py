"""The lessons shipped with minizf, as their scripts say: number, title, run time, exercises."""
import re
from dataclasses import dataclass
from pathlib import Path


def folder():
    """Where the lesson scripts are: the installed minizf.lessons package."""
    from .. import lessons as shipped
    return Path(shipped.__file__).resolve().parent


@dataclass
class Lesson:
    """One lesson: its number (5), script, title, run time as its header states it, exercise names."""
    number: int
    path: Path
    title: str
    run_time: str
    exercises: list

    @property
    def name(self):
        return self.path.stem                  # "05_top9"


def exercises_in(text):
    """The exercise names of a lesson's text: each ``attempt(NAME, ...)``, in order."""
    return list(dict.fromkeys(re.findall(r"^\w+ = attempt\((\w+),", text, flags=re.M)))


def read(path):
    """The Lesson of one script."""
    text = Path(path).read_text(encoding="utf-8")
    title = re.search(r"^# # Lesson \d+ — (.+)$", text, flags=re.M)
    run_time = re.search(r"^# \*Run time: (.+?)\*$", text, flags=re.M)
    return Lesson(int(Path(path).name[:2]), Path(path), title.group(1) if title else Path(path).stem,
                  run_time.group(1).rstrip(".") if run_time else "", exercises_in(text))


def lessons():
    """Every shipped lesson, in order."""
    return [read(p) for p in sorted(folder().glob("[0-9][0-9]_*.py"))]


def find(which):
    """A lesson by its number ("5", "05") or its name ("05_top9"); a ValueError naming the choices."""
    found = lessons()
    for lesson in found:
        if str(which).isdigit() and int(which) == lesson.number or which == lesson.name:
            return lesson
    raise ValueError(f"no lesson {which!r}; the lessons are {', '.join(str(l.number) for l in found)} "
                     "(minizf lesson list)")
