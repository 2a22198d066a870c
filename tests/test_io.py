"""Saving safely: what a user sees of minizf.io, each property checked from outside."""
import os

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from minizf import io


def test_a_saved_file_is_readable_by_others_as_any_new_file_is(tmp_path):
    old = os.umask(0o022)
    try:
        io.save_text_atomic(tmp_path / "table.json", "{}")
        io.save_npz_atomic(tmp_path / "m.npz", {"a": np.zeros(2)})
    finally:
        os.umask(old)
    for name in ("table.json", "m.npz"):                # not mkstemp's private 0600
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_the_data_is_on_disk_before_the_rename_and_the_temp_file_beside_the_target(tmp_path, monkeypatch):
    # a crash after the rename must find the new file whole: fsync first; and the rename is atomic
    # only within one file system: the temp file lives in the target's folder, whatever TMPDIR says
    events = []
    real_fsync, real_replace, real_savez = os.fsync, os.replace, np.savez
    monkeypatch.setenv("TMPDIR", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()

    def savez(f, **arrays):
        events.append(("beside", sorted(p for p in os.listdir(tmp_path / "out") if p.endswith(".tmp"))))
        real_savez(f, **arrays)
    monkeypatch.setattr(io.np, "savez", savez)
    monkeypatch.setattr(io.os, "fsync", lambda fd: (events.append(("fsync",)), real_fsync(fd))[1])
    monkeypatch.setattr(io.os, "replace", lambda a, b: (events.append(("replace", os.path.dirname(a))),
                                                         real_replace(a, b))[1])
    (tmp_path / "out").mkdir()
    io.save_npz_atomic(tmp_path / "out" / "m.npz", {"a": np.arange(3)})
    assert [e[0] for e in events] == ["beside", "fsync", "replace"]
    assert len(events[0][1]) == 1 and events[0][1][0].startswith("m.npz.")
    assert events[2][1] == str(tmp_path / "out")
    assert os.listdir(tmp_path / "elsewhere") == [] and sorted(os.listdir(tmp_path / "out")) == ["m.npz"]


def _png(path, software=None):
    info = PngImagePlugin.PngInfo()
    if software is not None:
        info.add_text("Software", software)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("software", [None, "GIMP 2.10", "mini"])
def test_a_users_png_is_never_taken_for_minizfs(software, tmp_path):
    path = _png(tmp_path / "fig.png", software)
    assert not io.written_by_minizf(path)
    with pytest.raises(ValueError, match="a file minizf did not write is there"):
        io.check_replaceable(path)
    io.check_replaceable(_png(tmp_path / "ours.png", "minizf 1.0"))        # minizf's own: replaceable
