"""Saving arrays safely: a failed or interrupted save never harms an earlier file."""
import os
import tempfile
import zipfile

import numpy as np


def save_npz_atomic(path, arrays):
    """Write ``arrays`` (name -> array) to ``path`` as .npz: temp file in the same folder, then rename.

    The rename is atomic, so ``path`` holds either the old file or the complete new one.
    """
    _write_atomic(path, "wb", lambda f: np.savez(f, **arrays))


def save_text_atomic(path, text):
    """Write ``text`` to ``path`` the same way: the old file or the complete new one, never half."""
    _write_atomic(path, "w", lambda f: f.write(text))


def save_bytes_atomic(path, data):
    """Write bytes to ``path`` the same way (a zip, an image)."""
    _write_atomic(path, "wb", lambda f: f.write(data))


def check_writable(path, flag="--json"):
    """Fail before the work, not after it, when an output file cannot be written: the path is a
    folder, or the nearest folder above it that exists is a file or not writable."""
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path}: is a folder, expected a file name")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"{flag} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{flag} {path}: cannot write in {folder}")


def _write_atomic(path, mode, write):
    """write(f) into a temp file beside ``path``, flushed to disk, then renamed over ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        _remove_stale_temps(folder, os.path.basename(path))
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as err:                  # say which file could not be written, not the temp's name
        raise OSError(err.errno, f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)       # mkstemp makes files private; a saved file is not
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _remove_stale_temps(folder, name):
    """Temp files of earlier saves of ``name`` that were killed before their rename (each save of
    a path has one writer, so any such file left over is garbage)."""
    import glob
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(name) + ".*.tmp")):
        try:
            os.remove(stale)
        except OSError:
            pass


def load_npz(path):
    """Read a .npz file into a dict of NumPy arrays; ValueError if it is missing or corrupt."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        if "pickle" in str(err):            # NumPy's guess for a file that is neither .npz nor .npy
            raise ValueError(f"{path}: not a readable .npz file (neither a zip archive nor a .npy array; "
                             "minizf never unpickles a file)") from None
        raise ValueError(f"{path}: not a readable .npz file ({type(err).__name__}: {err})") from None
