"""The figure commands of Sec. 4: tour, topk, explore, occlude, invariance, evolution,
correspondence, filters."""
import os

from .common import _device, _done, _model, _report, feature_map_layer, figure_command, nonnegative, positive


def _images(args, net, count=None):
    """The images a figure scans: --images FOLDER (any image folder, at the model's input size),
    else the bundled images the model can look at (``count`` of them drawn across the classes with
    --seed, and said so)."""
    from ..figures import images_for
    folder = getattr(args, "images", None)
    if folder and not str(folder).isdigit():
        from ..data import load_image_folder
        return load_image_folder(folder, size=net.input_shape[-1])
    images = images_for(net)
    if getattr(images, "note", None):
        print(images.note)
    if count is not None and count < len(images):
        from ..data import sample
        from ..distributed import comm
        images = sample(images, count, getattr(args, "seed", 0) or 0)
        if comm.ACTIVE is None or comm.ACTIVE.rank == 0:            # said once, not by every rank
            print(f"scanning {images.drawn} of {images.name}")
    return images


def cmd_tour(args):
    from ..sitefolder import check
    from ..tour import tour
    check(args.out, args.force, keep=("explore",))   # before any work
    loaded = _model(args)              # --model (an .onnx with --input-size, --mean, --std, --classes) or the bundled
    index = tour(args.out, args.model, args.twin, n_images=args.images, maps=args.maps,
                 progress=not args.quiet, device=_device(args), force=args.force, loaded=loaded)
    print(f"wrote {index} (open it in a browser)")
    return 0


def cmd_topk(args):
    from ..distributed import world
    from ..figures import chance_purity, figure_top9
    comm = world(args.distributed, _device(args))
    net, mean, _ = _model(args)
    from ..roles import resolve
    layer = resolve(net, args.layer if args.layer is not None else ("conv5" if "conv5" in net else "layer5"))
    images = _images(args, net)
    path, caption, purity = figure_top9(net, mean, images, layer, args.maps, args.out, args.seed, grey=args.grey,
                                        comm=comm)
    if comm.rank:                      # the scan was shared; rank 0 draws and reports
        return 0
    print(caption)
    print(f"class purity of the top-9 (share in the most common class): {purity:.2f}; "
          f"random images: {chance_purity(images.labels):.2f}")
    return _done(path)


def cmd_explore(args):
    from ..distributed import refuse_together, world
    from ..explorer import explore
    from ..figures import short_name
    from ..sitefolder import check
    comm = world(args.distributed, _device(args))
    problem = None
    if comm.rank == 0:
        try:
            check(args.out, args.force)            # before any work
        except ValueError as err:
            problem = str(err)
    refuse_together(comm, problem)
    net, mean, meta = _model(args)
    if args.images and args.images.isdigit() and int(args.images) < 1:
        raise ValueError(f"--images {args.images}: scan at least 1 image")
    images = _images(args, net, count=int(args.images) if args.images and args.images.isdigit() else 500)
    layers = [name for name in args.layers.split(",") if name] if args.layers else None
    bar = {}

    def progress(what, done, total):
        from tqdm import tqdm
        if what not in bar:
            bar[what] = tqdm(total=total, desc=what, unit="unit" if "project" in what else "image", leave=False)
        bar[what].n = done
        bar[what].refresh()
        if done >= total:
            bar[what].close()
    index = explore(net, mean, images, args.out, layers, device=_device(args), force=args.force,
                    progress=None if args.quiet or comm.rank else progress, comm=comm,
                    title=f"minizf unit explorer: {short_name(meta) if meta.get('model') else 'bundled model'}")
    if comm.rank == 0:
        print(f"wrote {index} (open it in a browser)")
    return 0


def _occlusion_image(args, net, classes):
    """(uint8 image, label or None) for `minizf occlude IMAGE`: a bundled CIFAR-10 test index, a
    bundled photo ("class/file.jpg"), or an image file."""
    import numpy as np

    from ..data import load_image
    from ..figures import images_for
    if args.image.isdigit():
        images = images_for(net)
        where = {int(i): n for n, i in enumerate(getattr(images, "indices", []))}
        if int(args.image) not in where:
            raise ValueError(f"test image {args.image} is not in the bundled sample; give an image file")
        n = where[int(args.image)]
        return images.images[n], int(images.labels[n])
    if not os.path.exists(args.image):
        images = images_for(net)
        if args.image in getattr(images, "files", []):
            n = images.files.index(args.image)
            return images.images[n], int(images.labels[n])
        raise ValueError(f"{args.image}: no such file")
    size = net.input_shape[1]
    return np.round(load_image(args.image, size) * 255).astype(np.uint8), None


def cmd_occlude(args):
    import numpy as np

    from .. import analysis, plot
    from ..figures import occlusion_setting, occlusion_sweep, predict_class
    net, mean, meta = _model(args)
    classes = meta.get("classes") or [str(c) for c in range(net.output_shapes(net.input_shape)[-1][1][0])]
    image, label = _occlusion_image(args, net, classes)
    if args.label is not None:
        if args.label not in classes:
            raise ValueError(f"--label must be one of {classes}, got {args.label!r}")
        label = classes.index(args.label)
    guess = label is None
    if guess:   # no true class known: use the network's own answer on the clean image, and say so
        label = predict_class(net, mean, image)
        print(f"no --label given: using the network's guess, {classes[label]!r}, as the class to track")
    layer = feature_map_layer(net, args.layer if args.layer is not None else ("relu5" if "relu5" in net else "layer5"))
    if args.size:           # one square, as asked
        sweep = {args.size: [analysis.occlusion(net, image, label, mean, layer, args.size,
                                                args.stride or max(1, image.shape[-1] // 16))]}
    else:                   # Fig. 7's sweep of sizes; the middle one is drawn
        sweep = occlusion_sweep(net, mean, image[None], [label], layer, args.stride)
    drawn = args.size or occlusion_setting(image.shape[-1])[0]
    name = os.path.splitext(os.path.basename(args.image))[0]
    path = plot.occlusion_figure(image.astype(np.float32) / 255, sweep[drawn][0], classes, label,
                                 os.path.join(args.out, f"occlusion_{name}.png"), guess=guess)
    print(analysis.occlusion_verdict(sweep, [classes[label]], image.shape[-1]))
    return _done(path)


def cmd_invariance(args):
    from ..figures import figure_invariance
    net, mean, meta = _model(args)
    user_folder = bool(args.images)          # the user's own folder must hold the model's classes
    return _report(*figure_invariance(net, mean, _images(args, net), args.out, classes=meta.get("classes"),
                                      strict=user_folder))


def cmd_evolution(args):
    from ..figures import figure_evolution, images_for
    net, mean, meta = _model(args)
    images = images_for(net)
    return _report(*figure_evolution(net, mean, meta, images, args.out, n_images=min(200, len(images)),
                                     model_path=args.model, grey=args.grey))


def cmd_correspondence(args):
    from ..figures import figure_correspondence, images_for
    net, mean, _ = _model(args)
    path, caption, verdict, result = figure_correspondence(net, mean, images_for(net), args.out)
    layers = list(result.random)
    print(f"{'occluded part':<16}" + "".join(f"Delta {layer:<12}" for layer in layers))
    for part, d in result.parts.items():
        print(f"{part:<16}" + "".join(f"{d[layer]:<18.3f}" for layer in layers))
    print(f"{'random':<16}" + "".join(f"{m:.3f} +- {sd:.3f}{'':<6}" for m, sd in result.random.values()))
    return _report(path, caption, verdict)


def cmd_filters(args):
    from ..figures import figure_filters, images_for, with_twin
    net, mean, meta = _model(args)
    return _report(*figure_filters(with_twin(net, mean, args.twin, meta), args.out, images_for(net)))


DISTRIBUTED_HELP = ("scan over MPI ranks, as minizf mpirun -n K COMMAND ... runs it (pip install 'minizf[mpi]'); "
                    "each rank scans its share of the images, rank 0 merges, projects and writes")
GREY_HELP = "draw the projections in grey (the mean of their colour channels), as the paper's Fig. 2"


def add_commands(sub):
    """Register the figure commands."""
    q = figure_command(sub, "tour", "all figures of Sec. 4 (Figs. 2, 4, 5, 6, 7, Table 1) from the bundled "
                       "model and images, with an index.html", cmd_tour, out="tour")
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file for Fig. 6")
    q.add_argument("--images", type=positive, default=500, help="test images to scan for top-9 (default 500)")
    q.add_argument("--maps", type=positive, default=6, help="feature maps per layer in the top-9 figures")
    q.add_argument("--quiet", action="store_true")
    q.add_argument("--force", action="store_true", help="replace an --out folder minizf did not write (it is "
                   "moved aside, not deleted)")
    q = figure_command(sub, "topk", "Fig. 2: the 9 strongest activations of random feature maps over the "
                       "bundled test images, projected by the deconvnet beside their image patches", cmd_topk)
    q.add_argument("--layer", default=None, help="any layer (default conv5, else the paper's layer 5: the "
                   "last conv's ReLU): conv1-conv5, relu1-relu7, pool1, pool2, pool5, norm1, norm2, fc6-fc8, or the "
                   "roles layer1, layer5, layer7; a model from elsewhere has its own names (minizf info --model FILE)")
    q.add_argument("--images", default=None, help="an image folder (one sub-folder per class, or images "
                   "directly) to scan instead of the bundled images")
    q.add_argument("--maps", type=positive, default=8, help="how many random feature maps to show (default 8)")
    q.add_argument("--seed", type=nonnegative, default=0, help="which random maps (default 0)")
    q.add_argument("--grey", action="store_true", help=GREY_HELP)
    q.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    q = figure_command(sub, "explore", "a website of every unit of the chosen layers: each unit's top-9 "
                       "images projected by the deconvnet beside their patches, their classes and the "
                       "unit's histogram; static files, open OUT/index.html in a browser", cmd_explore,
                       out="explore")
    q.add_argument("--images", default=None, help="how many bundled images to scan (default 500), or an "
                   "image folder")
    q.add_argument("--layers", default=None, help="comma-separated layers, with feature maps or fully "
                   "connected (default: every conv layer); the roles layer1, layer5, layer7 too")
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q.add_argument("--force", action="store_true", help="replace an --out folder minizf did not write (it is "
                   "moved aside, not deleted)")
    q.add_argument("--distributed", action="store_true", help=DISTRIBUTED_HELP)
    q = figure_command(sub, "occlude", "Fig. 7: slide a grey square over IMAGE and map the strongest layer-5 "
                       "feature, the probability of the class and the most probable class", cmd_occlude)
    q.add_argument("image", help="an image file; a bundled photo as CLASS/FILE (english_springer/"
                   "n02102040_1100.jpg); with a CIFAR-10 model (--model data/zf_small.npz), the test-set index "
                   "of a bundled CIFAR-10 image")
    q.add_argument("--label", default=None, help="true class name (default: the bundled label, or the "
                   "network's prediction for an image file)")
    q.add_argument("--layer", default=None, help="the layer whose strongest map is tracked (default relu5, "
                   "else the paper's layer 5: the last conv's ReLU)")
    q.add_argument("--size", type=positive, default=None, help="side of the square in pixels (default: a "
                   "sweep of 1/8, 1/5 and 1/3 of the image's side, the middle one drawn)")
    q.add_argument("--stride", type=positive, default=None, help="step between positions (default: 1/16 of "
                   "the image's side)")
    q = figure_command(sub, "invariance", "Fig. 5: feature distances at layers 1 and 7 and the true-class "
                   "probability as images are translated, scaled and rotated", cmd_invariance)
    q.add_argument("--images", default=None, help="an image folder (one sub-folder per class) to transform "
                   "instead of the bundled images")
    q = figure_command(sub, "evolution", "Fig. 4: projections of the strongest activations at each training "
                       "snapshot, showing how features settle during training", cmd_evolution)
    q.add_argument("--grey", action="store_true", help=GREY_HELP)
    figure_command(sub, "correspondence", "Table 1 (Sec. 4.3): occlude the same part (eyes, nose) of 5 faces "
                   "(English springers from the bundled photos; cats for a CIFAR-10 model) and measure how "
                   "consistently layers 5 and 7 change (Delta)", cmd_correspondence)
    q = figure_command(sub, "filters", "Fig. 6 / Sec. 4.1: first-layer filters of the ZF and Krizhevsky-style "
                       "models with dead-filter counts and frequency coverage", cmd_filters)
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file (default: the bundled one)")
