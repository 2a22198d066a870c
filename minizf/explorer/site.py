"""Write the explorer: plain HTML, CSS and a little JavaScript, no server, no CDN (works from file://).

    OUT/index.html            the layers, the model, the images scanned
    OUT/LAYER.html            a grid of the layer's units (each unit's strongest projection);
                              click one (or use the keys) to see its top-9 projections beside
                              their receptive-field patches, their classes and its histogram
    OUT/LAYER/uCCC_pK.png     projection K of unit CCC (signed: 0 is mid-grey)
    OUT/LAYER/uCCC_iK.png     the image patch it came from

The numbers a page needs (classes, values, histograms) are written into the
page itself, as JSON in a ``<script type="application/json">`` block read with
``JSON.parse`` (browsers refuse to fetch JSON from file://), escaped by
``minizf.pages``; the page puts names into the DOM as text, never as HTML.
"""
import hashlib
import os
import re

import numpy as np

from ..analysis.topk import images_per_batch, project_top
from ..analysis.units import scan_units
from .. import pages
from ..sitefolder import check, new_site
from ..plot import PROJECTION_CLIP, to_display

BINS = 20
HERE = os.path.dirname(os.path.abspath(__file__))


def _png(array, path, signed):
    """Save (3, h, w) as an 8-bit PNG at its own size (the page enlarges it, pixels kept sharp).

    signed: a projection, centred so 0 is mid-grey; else an image patch in [0, 1], shown as it is."""
    from PIL import Image
    shown = to_display(array, signed=True, clip=PROJECTION_CLIP) if signed else array.transpose(1, 2, 0)
    pixels = (np.clip(shown, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(pixels).save(path, optimize=False)


def _histogram(values):
    counts, edges = np.histogram(values, bins=BINS)
    return {"counts": counts.tolist(), "lo": float(edges[0]), "hi": float(edges[-1])}


def _write_units(folder, net, images, mean, top, device, progress):
    """Project every unit's top-k and write their PNGs a batch of units at a time: only one batch of
    projections is ever held (a 224 px layer's 256 x 9 projections would take gigabytes)."""
    k, units = top.values.shape[1], len(top.channels)
    step = max(1, images_per_batch(net, top.layer, images.shape[1:]) // k)      # units per deconvnet batch
    for start in range(0, units, step):
        part = type(top)(top.layer, top.channels[start:start + step], top.values[start:start + step],
                         top.images[start:start + step], top.positions[start:start + step])
        projections, patches = project_top(net, images, mean, part, device=device)
        for c in range(len(part.channels)):
            for n in range(k):
                _png(projections[c, n], os.path.join(folder, f"u{start + c:03d}_p{n}.png"), signed=True)
                _png(patches[c, n], os.path.join(folder, f"u{start + c:03d}_i{n}.png"), signed=False)
        if progress:
            progress(f"{top.layer}: projecting", min(start + step, units), units)


def file_name(layer):
    """A layer's name as a file name, one per name: "conv5" stays itself; a name with other
    characters (an ONNX node "/features/0/Conv"), or one a site uses ("index"), is made safe and
    gets the start of its SHA-1, so "a/b" and "a_b" never share a page."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", layer).strip(".") or "layer"
    if safe != layer or safe.lower() in ("index", "layer"):
        safe += "-" + hashlib.sha1(layer.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def _write_layer(out, net, images, mean, layer, k, classes, labels, device, progress, comm=None):
    """Scan one layer, write its units' pictures; returns the units' records for the page."""
    folder = os.path.join(out, file_name(layer))
    os.makedirs(folder, exist_ok=True)
    scan = scan_units(net, images, mean, layer, device=device, comm=comm,
                      progress=progress and (lambda d, t: progress(f"{layer}: scanning", d, t)))
    top = scan.top(k)
    _write_units(folder, net, images, mean, top, device, progress)
    return [{"values": [round(float(v), 4) for v in top.values[c]],
             "images": [int(i) for i in top.images[c]],
             "classes": [classes[int(labels[i])] if labels is not None else "" for i in top.images[c]],
             "hist": _histogram(scan.maxima[:, c])} for c in range(len(top.channels))]


def explore(net, mean, images, out="explore", layers=None, k=9, device=None, progress=None, title=None,
            force=False, comm=None):
    """Write the site for ``layers`` (default: every conv layer) over uint8 ``images``; returns index.html.

    images: an ArrayDataset-like object with ``.images`` (N, 3, H, W) uint8 and,
    when known, ``.labels`` and ``.classes``. progress: callable(what, done, total). The site is
    written beside ``out`` and swapped in at the end (``minizf.sitefolder``): a folder minizf did
    not write is refused unless ``force`` (then moved aside, never deleted). comm: scan over MPI
    ranks (``minizf.distributed``); rank 0 projects and writes, the others only scan (and return None).
    """
    from ..layers import Conv2D
    from ..roles import resolve
    layers = [resolve(net, layer, "--layers") for layer in layers] if layers else \
        [name for name, layer in net if isinstance(layer, Conv2D)]
    for layer in layers:
        if len(dict(net.output_shapes(images.images.shape[1:]))[layer]) not in (1, 3):
            raise ValueError(f"--layers {layer}: gives neither feature maps (C, H, W) nor units (F,)")
    if comm is not None and comm.rank:               # a helper rank: its share of every scan, nothing written
        for layer in layers:
            scan_units(net, images.images, mean, layer, device=device, comm=comm)
        return None
    check(out, force)                                 # before any work: refuse a folder it may not replace
    classes = list(getattr(images, "classes", None) or [])
    labels = getattr(images, "labels", None) if classes else None
    with open(os.path.join(HERE, "layer.html")) as f:
        layer_template = f.read()
    with open(os.path.join(HERE, "index.html")) as f:
        index_template = f.read()
    title = title or "minizf unit explorer"
    with new_site(out, force) as site:
        for i, layer in enumerate(layers):
            units = _write_layer(site.path, net, images.images, mean, layer, k, classes, labels, device, progress,
                                 comm)
            data = {"layer": layer, "folder": file_name(layer), "units": units, "k": k,
                    "scanned": int(len(images.images)),
                    "previous": file_name(layers[i - 1]) if i > 0 else None,
                    "next": file_name(layers[i + 1]) if i + 1 < len(layers) else None}
            page = pages.fill(layer_template, title=pages.text(f"{title}: {layer}"), layer=pages.text(layer),
                              data=pages.script_data(data))
            with open(os.path.join(site.path, f"{file_name(layer)}.html"), "w") as f:
                f.write(page)
        links = "".join(f'<li><a href="{pages.attribute(file_name(name))}.html">{pages.text(name)}</a></li>'
                        for name in layers)
        index = pages.fill(index_template, title=pages.text(title), links=links,
                           about=pages.text(f"{len(images.images)} images scanned; top-{k} per unit, projected by "
                                            "the deconvnet and cut to each unit's receptive field."))
        with open(os.path.join(site.path, "index.html"), "w") as f:
            f.write(index)
    if site.moved_aside:
        print(f"moved the folder that was at {out} to {site.moved_aside}")
    return os.path.join(out, "index.html")
