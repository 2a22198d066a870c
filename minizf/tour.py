"""``minizf tour``: every figure of Sec. 4 from one model and its images, with an index page.

The figures themselves are ``minizf.figures``' builders; this module runs them
in order, writes the page (each figure with its caption and its verdict
against the paper, the reason in the place of a figure the model cannot have)
and swaps the finished site in (``minizf.sitefolder``).
"""
import os
import time


from . import pages
from .figures import (Unavailable, correspondence_table, default_model, describe, figure_correspondence,
                      figure_curves, figure_evolution, figure_filters, figure_invariance, figure_occlusion,
                      figures_top9, images_for, short_name, with_twin)
from .data import sample
from .modelfile import load_model
from .sitefolder import new_site


VERDICT_COLORS = {"holds": "#1a7f37", "does not hold": "#b35900", "cannot tell": "#6e7781"}


def verdict_html(verdict):
    if verdict is None:
        return ""
    status = verdict.status
    why = {"does not hold": " here: ", "cannot tell": ": "}.get(status)
    note = f"<br><b>Note:</b> {pages.text(verdict.note)}." if verdict.note else ""
    return (f"<p class='verdict'><b>Paper:</b> {pages.text(verdict.claim)}.<br><b>Here:</b> "
            f"{pages.text(verdict.measured)}.<br><b style='color:{VERDICT_COLORS[status]}'>Verdict: {status}</b>"
            + (f"{why}{pages.text(verdict.reason)}." if why and verdict.reason else ".") + note + "</p>")


def _explorer_link(out):
    """A paragraph pointing to the unit explorer: a link when OUT/explore exists, else how to make it."""
    if os.path.isfile(os.path.join(out, "explore", "index.html")):
        return "<p><a href='explore/index.html'>Unit explorer</a>: every unit of every conv layer, its top-9 and histogram.</p>"
    return (f"<p>Unit explorer (every unit of every conv layer, its top-9 and histogram): run "
            f"<code>minizf explore --out {pages.text(os.path.join(out, 'explore'))}</code>, then follow "
            f"<a href='explore/index.html'>this link</a>.</p>")


def write_index(out, entries, title, note="", explorer_in=None):
    """OUT/index.html of the figures; the explorer link looks for explore/ in ``explorer_in`` (default out)."""
    body = []
    for heading, paths, caption, extra in entries:
        imgs = "".join(f'<img src="{pages.attribute(os.path.basename(p))}">' for p in paths)
        body.append(f"<section><h2>{pages.text(heading)}</h2>{imgs}<p>{pages.text(caption)}</p>{extra}</section>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{pages.text(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}img{max-width:100%;"
            "margin:4px}table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 8px}"
            ".verdict{background:#f4f4f4;padding:6px 10px;border-left:4px solid #999}"
            f"</style></head><body><h1>{pages.text(title)}</h1><p>{pages.text(note)}</p>"
            + _explorer_link(explorer_in or out) + "".join(body) + "</body></html>")
    path = os.path.join(out, "index.html")
    with open(path, "w") as f:
        f.write(page)
    return path


def tour(out="tour", model=None, twin=None, n_images=500, maps=6, progress=True, device="cpu", force=False,
         loaded=None):
    """Write every figure and index.html to ``out``; returns the index path. device: where the
    networks run ("cpu" or "cuda"); model: a model file (its snapshots/ folder serves Fig. 4);
    loaded: its (net, mean, meta) when already read (an .onnx with --mean, --std, --classes).

    The site is written beside ``out`` and swapped in at the end (``sitefolder``): a folder minizf
    did not write is refused unless ``force`` (then moved aside, not deleted); a unit explorer
    already in ``out/explore`` is kept."""
    with new_site(out, force, keep=("explore",)) as site:
        _write_tour(site.path, out, model, twin, n_images, maps, progress, device, loaded)
    if site.moved_aside:
        print(f"moved the folder that was at {out} to {site.moved_aside}")
    return os.path.join(out, "index.html")


def _write_tour(out, final, model, twin, n_images, maps, progress, device, loaded=None):
    """The tour's figures and index.html, written into ``out`` (``final``: where they will be read)."""
    from tqdm import tqdm
    net, mean, meta = loaded or (load_model(model) if model else default_model())
    net.to(device)
    compared = with_twin(net, mean, twin, meta)
    for _, other, _, _ in compared:
        other.to(device)
    images = images_for(net)
    scan = sample(images, n_images)              # for the scans: across the classes, not the first few

    def correspondence():
        path, caption, verdict, result = figure_correspondence(net, mean, images, out)
        return path, caption, verdict, correspondence_table(result)

    steps = [
        ("Training (Sec. 3)", lambda: figure_curves(meta, out)),
        ("Top-9 activations of every conv layer (Fig. 2)",
         lambda: figures_top9(net, mean, scan, out, maps, meta=meta)),
        ("Feature evolution (Fig. 4)", lambda: figure_evolution(net, mean, meta, scan, out,
                                                                n_images=min(200, len(scan)),
                                                                model_path=model)),
        ("Invariance (Fig. 5)", lambda: figure_invariance(net, mean, images, out, classes=meta.get("classes"))),
        ("Architecture selection (Fig. 6, Sec. 4.1)", lambda: figure_filters(compared, out, scan)),
        ("Occlusion (Fig. 7)", lambda: figure_occlusion(net, mean, images, out, meta.get("classes"))),
        ("Correspondence (Table 1)", correspondence),
    ]
    entries, verdicts = [], []
    started = time.perf_counter()
    for heading, step in tqdm(steps, desc="minizf tour", disable=not progress, unit="figure"):
        t0 = time.perf_counter()
        try:
            paths, caption, verdict, *extra = step()
        except Unavailable as why:                 # this model cannot have this figure: say why
            paths, caption, verdict, extra = [], f"Not made for this model: {why}.", None, []
        verdicts.append(verdict)
        entries.append((f"{heading} ({time.perf_counter() - t0:.0f} s)", paths if isinstance(paths, list) else [paths],
                        caption, verdict_html(verdict) + "".join(extra)))
    held = [v for v in verdicts if v is not None]
    unclear = sum(v.holds is None for v in held)
    note = (f"{sum(v.holds is True for v in held)} of {len(held)} of the paper's claims hold at this scale"
            + (f", {unclear} cannot be told from these models" if unclear else "") +
            f" ({describe(net, meta)}; scanned: {getattr(scan, 'drawn', f'all {len(images)} images')} of "
            f"{images.name}); each figure says which and why.")
    title = f"minizf tour — {short_name(meta)} ({time.perf_counter() - started:.0f} s)"
    return write_index(out, entries, title, note, explorer_in=final)
