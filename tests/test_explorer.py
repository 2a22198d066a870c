"""The unit explorer: the files it writes, and a real browser clicking through them."""
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from minizf.data import bundled_model, bundled_photos, normalize
from minizf.explorer import explore

N_IMAGES = 60


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    net, mean, _ = bundled_model("zf64")
    photos = bundled_photos(64)
    photos.images, photos.labels = photos.images[:N_IMAGES], photos.labels[:N_IMAGES]
    out = tmp_path_factory.mktemp("explore")
    explore(net, mean, photos, str(out), layers=["conv4", "conv5"])
    return out, net, mean, photos


def page_data(path):
    text = path.read_text()
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1))


def expected_top(net, mean, photos, layer, unit, k=9):
    """The top-k images of a unit, found here by brute force: every image's maximum over positions."""
    acts = net.forward(normalize(photos.images, mean), upto=layer)[:, unit]
    best = acts.reshape(len(acts), -1).max(axis=1)
    order = np.argsort(-best, kind="stable")[:k]
    return order, best[order]


def test_every_unit_has_its_pictures_and_numbers(site):
    out, net, mean, photos = site
    data = page_data(out / "conv5.html")
    units = net.output_shapes(net.input_shape)[net.index("conv5")][1][0]
    assert len(data["units"]) == units and data["previous"] == "conv4" and data["next"] is None
    for c in (0, 17, units - 1):
        order, values = expected_top(net, mean, photos, "conv5", c)
        assert data["units"][c]["images"] == order.tolist()
        np.testing.assert_allclose(data["units"][c]["values"], values, rtol=1e-3, atol=1e-4)
        assert sum(data["units"][c]["hist"]["counts"]) == N_IMAGES
        for k in range(9):
            assert (out / "conv5" / f"u{c:03d}_p{k}.png").stat().st_size > 100
            assert (out / "conv5" / f"u{c:03d}_i{k}.png").stat().st_size > 100
    first = page_data(out / "conv4.html")
    assert first["previous"] is None and first["next"] == "conv5"                  # no wrapping round
    index = (out / "index.html").read_text()
    assert 'href="conv4.html"' in index and 'href="conv5.html"' in index
    assert "http" not in (out / "conv5.html").read_text().split("<script>")[0]     # no CDN, nothing remote


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_a_browser_clicks_a_unit_and_sees_its_nine_images(site):
    out, net, mean, photos = site
    browser = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    try:
        browser.get((out / "conv5.html").as_uri())
        browser.find_element(By.ID, "thumb-3").click()
        order, _ = expected_top(net, mean, photos, "conv5", 3)
        classes = ", ".join(photos.classes[photos.labels[i]] for i in order)
        assert browser.find_element(By.ID, "caption").text == \
            f"conv5 unit 3: top-9 of {N_IMAGES} images; classes: {classes}"
        loaded = browser.execute_script(
            "return [...document.querySelectorAll('#pairs img.projection')]"
            ".map(im => im.complete && im.naturalWidth > 0);")
        assert loaded == [True] * 9
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        assert browser.find_element(By.ID, "caption").text.startswith("conv5 unit 4:")
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_UP)          # previous layer
        assert browser.current_url.endswith("conv4.html")
    finally:
        browser.quit()


def test_explore_command_on_a_few_images(tmp_path):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "explore", "--images", "20", "--layers", "conv5",
                           "--out", str(tmp_path / "site"), "--quiet"], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "conv5.html").is_file() and "scanned" in (tmp_path / "site" / "conv5.html").read_text()
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "explore", "--layers", "fc9", "--images", "5",
                           "--out", str(tmp_path / "x"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "fc9" in done.stderr and "Traceback" not in done.stderr


def test_layer_names_that_are_paths_become_safe_file_names():
    from minizf.explorer.site import file_name
    assert file_name("/features/features.0/Conv").startswith("_features_features.0_Conv-")
    assert file_name("conv5") == "conv5" and file_name("..").startswith("layer-")


def test_hostile_layer_and_class_names_stay_text(tmp_path):
    # A layer named with "</script>" cannot close the page's script, and "<" in a link text is escaped.
    from types import SimpleNamespace
    from minizf import Sequential
    from .test_analysis import tiny_net
    net = Sequential([("c</script><b>1" if name == "conv1" else name, layer) for name, layer in tiny_net()],
                     input_shape=(3, 16, 16)).astype("float32")
    rng = np.random.default_rng(0)
    images = SimpleNamespace(images=rng.integers(0, 256, (5, 3, 16, 16), dtype=np.uint8),
                             labels=np.array([0, 1, 2, 0, 1]), classes=["a</b>", "<i>b", "c"])
    explore(net, np.zeros((3, 16, 16), np.float32), images, str(tmp_path), layers=["c</script><b>1"])
    page = next(p for p in tmp_path.glob("*.html") if p.name != "index.html")
    assert page.read_text().count("</script>") == _template_text("layer.html").count("</script>")
    assert page_data(page)["layer"] == "c</script><b>1"
    index = (tmp_path / "index.html").read_text()
    assert "c&lt;/script&gt;&lt;b&gt;1" in index and "<b>1" not in index


HOSTILE_CLASSES = ["<img src=x onerror=alert(1)>", "<!--<script>", "a</script><script>alert(3)</script>"]
HOSTILE_LAYER = "{{data}}<img src=x onerror=alert(2)>"


def test_hostile_names_run_no_script_in_a_browser(tmp_path):
    # Class folders and a layer named to inject script: the pages load, no dialog opens, the
    # names show as text, and clicking a unit still works.
    from types import SimpleNamespace
    from minizf import Sequential
    from .test_analysis import tiny_net
    net = Sequential([(HOSTILE_LAYER if name == "conv1" else name, layer) for name, layer in tiny_net()],
                     input_shape=(3, 16, 16)).astype("float32")
    rng = np.random.default_rng(2)
    images = SimpleNamespace(images=rng.integers(0, 256, (6, 3, 16, 16), dtype=np.uint8),
                             labels=np.array([0, 1, 2, 0, 1, 2]), classes=HOSTILE_CLASSES)
    explore(net, np.zeros((3, 16, 16), np.float32), images, str(tmp_path), layers=[HOSTILE_LAYER, "conv5"])
    browser = _browser()
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    try:
        for page in ["index.html"] + [p.name for p in tmp_path.glob("*.html") if p.name != "index.html"]:
            browser.get((tmp_path / page).as_uri())
            if page != "index.html":
                browser.find_element(By.ID, "thumb-0").click()
                caption = browser.find_element(By.ID, "caption").text
                assert "unit 0: top-" in caption and "classes:" in caption
                shown = browser.find_element(By.ID, "pairs").text
                assert any(name in shown for name in HOSTILE_CLASSES)       # as text, not as markup
            with pytest.raises(NoAlertPresentException):
                browser.switch_to.alert.text
            assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
        from minizf.explorer.site import file_name
        browser.get((tmp_path / f"{file_name(HOSTILE_LAYER)}.html").as_uri())
        assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE_LAYER
    finally:
        browser.quit()


def _template_text(name):
    import minizf.explorer
    return (Path(minizf.explorer.__file__).parent / name).read_text()


def test_a_scan_in_batches_sees_every_image():
    from minizf.analysis.units import scan_units
    from .test_analysis import tiny_net
    net = tiny_net().astype("float32")
    images = np.random.default_rng(1).integers(0, 256, (7, 3, 16, 16), dtype=np.uint8)
    mean = np.zeros((3, 16, 16), np.float32)
    scan = scan_units(net, images, mean, "conv5", batch_size=3)                   # 3 + 3 + 1
    acts = net.forward(normalize(images, mean), upto="conv5")
    np.testing.assert_allclose(scan.maxima, acts.reshape(7, acts.shape[1], -1).max(axis=2), rtol=1e-5)


from hypothesis import given, strategies as st  # noqa: E402


@given(st.text(), st.text())
def test_page_values_are_escaped_for_their_place(name, other):
    from minizf import pages
    data = pages.script_data({"layer": name, "classes": [other]})
    assert "<" not in data and ">" not in data and "&" not in data
    assert "\u2028" not in data and "\u2029" not in data        # line separators end a line in JavaScript
    assert json.loads(data) == {"layer": name, "classes": [other]}
    assert "<" not in pages.text(name) and '"' not in pages.attribute(name)
    page = pages.fill("<h1>{{a}}</h1><p>{{b}}</p>", a=pages.text("{{b}}" + name), b=pages.text(other))
    assert page == f"<h1>{pages.text('{{b}}' + name)}</h1><p>{pages.text(other)}</p>"   # filled once


def test_a_line_separator_in_a_name_and_a_field_left_out():
    from minizf import pages
    data = pages.script_data({"layer": "a\u2028b\u2029c"})
    assert data == '{"layer": "a\\u2028b\\u2029c"}' and json.loads(data) == {"layer": "a\u2028b\u2029c"}
    with pytest.raises(KeyError, match="needs a value for {{title}}"):   # never a page with a hole in it
        pages.fill("<h1>{{title}}</h1><p>{{body}}</p>", body="x")


# ---- output folders: never overwrite or delete what minizf did not write --------------------------

def _tiny_site(out, names=("conv1", "conv5"), force=False, progress=None):
    from types import SimpleNamespace
    from minizf import Sequential
    from .test_analysis import tiny_net
    rename = dict(zip(("conv1", "conv5"), names))
    net = Sequential([(rename.get(n, n), layer) for n, layer in tiny_net()], input_shape=(3, 16, 16)).astype("float32")
    images = SimpleNamespace(images=np.random.default_rng(3).integers(0, 256, (4, 3, 16, 16), dtype=np.uint8))
    return explore(net, np.zeros((3, 16, 16), np.float32), images, str(out), layers=list(names), force=force,
                   progress=progress)


def test_a_folder_minizf_did_not_write_is_refused_or_moved_aside_never_deleted(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("my own page")
    with pytest.raises(ValueError, match="did not write"):
        _tiny_site(out)
    assert (out / "index.html").read_text() == "my own page" and len(list(out.iterdir())) == 1
    _tiny_site(out, force=True)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("site.replaced-")]
    assert len(aside) == 1 and (aside[0] / "index.html").read_text() == "my own page"
    assert "minizf unit explorer" in (out / "index.html").read_text()
    _tiny_site(out)                                  # minizf's own site: replaced without --force
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["site", aside[0].name])


def test_a_run_that_fails_midway_leaves_the_old_site_whole(tmp_path):
    out = tmp_path / "site"
    _tiny_site(out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def fail(what, done, total):
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        _tiny_site(out, progress=fail)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]        # no partial folder left


def test_layer_names_that_clash_as_file_names_keep_their_own_pages(tmp_path):
    from minizf.explorer.site import file_name
    names = ("a/b", "a_b")
    _tiny_site(tmp_path / "site", names=names)
    pages = {file_name(n) for n in names}
    assert len(pages) == 2 and all((tmp_path / "site" / f"{p}.html").is_file() for p in pages)
    assert file_name("index") != "index" and file_name("conv5") == "conv5"


@pytest.mark.parametrize("where", ["here", "package"])
def test_the_current_folder_and_the_installed_package_are_never_an_out(where, tmp_path, monkeypatch):
    import minizf
    import subprocess
    import sys
    out = "." if where == "here" else str(Path(minizf.__file__).parent / "explorer")
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "explore", "--out", out, "--images", "2",
                           "--force"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert ("current folder" if where == "here" else "inside the installed minizf package") in done.stderr


def test_a_rerun_keeps_what_you_added_to_a_site(tmp_path, monkeypatch):
    # A site minizf wrote, then a note and a folder of yours inside it: the next run moves the old
    # site aside (one line says where) instead of deleting your files; with nothing of yours, it goes.
    from minizf.sitefolder import new_site
    monkeypatch.chdir(tmp_path)
    for round_ in range(2):
        with new_site("site") as site:
            (tmp_path / site.path / "index.html").write_text(f"run {round_}")
            (tmp_path / site.path / "units").mkdir()
            (tmp_path / site.path / "units" / "u0.html").write_text("unit")
        assert site.moved_aside is None                       # the second run replaced only its own files
    (tmp_path / "site" / "notes.txt").write_text("mine")
    (tmp_path / "site" / "mine").mkdir()
    (tmp_path / "site" / "mine" / "data.csv").write_text("1,2")
    with new_site("site") as site:
        (tmp_path / site.path / "index.html").write_text("run 2")
    aside = tmp_path / site.moved_aside
    assert (aside / "notes.txt").read_text() == "mine" and (aside / "mine" / "data.csv").read_text() == "1,2"
    assert (tmp_path / "site" / "index.html").read_text() == "run 2" and not (tmp_path / "site" / "notes.txt").exists()
