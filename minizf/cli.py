"""The ``minizf`` command: ``minizf COMMAND --help`` says what each one does."""
import argparse
import os
import sys

from . import __version__


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v.strip())


def cmd_info(args):
    from .backend import cuda_available
    from .functional.chunks import num_threads
    from .models import MODELS
    print(f"minizf {__version__}")
    print("models: " + ", ".join(MODELS))
    print(f"devices: cpu{', cuda' if cuda_available() else ''}")
    print(f"cpu threads: {num_threads()} (each takes a share of the batch; set MINIZF_THREADS to change)")
    return 0


def _cifar_slices(args):
    """CIFAR-10 train and test sets, cut to the first --subset / --val-subset images (0: all)."""
    from . import data
    train, val = data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    if args.subset:
        train = train.subset(range(min(args.subset, len(train))))
    if args.val_subset:
        val = val.subset(range(min(args.val_subset, len(val))))
    return train, val


def cmd_train(args):
    from . import models
    from .backend import get_device
    from .plot import training_curves
    from .train import TrainConfig, Trainer
    train_set, val_set = _cifar_slices(args)
    options = {"drop": list(args.drop)} if args.drop else {}
    net = models.build(args.model, **options)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, lr_steps=args.lr_steps,
                         plateau_patience=args.patience, init=args.init, seed=args.seed,
                         conv1_std=args.conv1_std,
                         renorm={} if args.renorm <= 0 else {"conv1": args.renorm})
    trainer = Trainer(net, args.model, train_set, val_set, config, args.out, options,
                      progress=not args.quiet, device=get_device(args.device))
    try:
        status = trainer.run(resume=args.resume, max_batches=args.max_batches, init_from=args.init_from)
    except KeyboardInterrupt:
        return 130
    history = trainer.state["history"]
    if history:
        print("wrote", training_curves(history, os.path.join(args.out, "curves.png")))
    print(f"{status}: {args.out}")
    return 0


def cmd_evaluate(args):
    import numpy as np

    from . import data
    from .plot import confusion_figure
    from .train import confusion_matrix, evaluate, load_model
    net, mean, meta = load_model(args.checkpoint)
    test_set = data.load_cifar10(args.data, "test")
    if args.subset:
        test_set = test_set.subset(range(args.subset))
    result = evaluate(net, test_set, mean, ten_crop=args.ten_crop)
    kind = "10-crop" if args.ten_crop else "single-crop"
    print(f"{meta['model']} on {test_set.name} ({len(test_set)} images, {kind}): "
          f"top-1 error {1 - result['top1']:.4f}, top-5 error {1 - result['top5']:.4f}")
    counts = confusion_matrix(test_set.labels, result["probs"].argmax(axis=1), len(test_set.classes))
    out = args.out or os.path.splitext(args.checkpoint)[0] + "_confusion.png"
    print("wrote", confusion_figure(counts, test_set.classes, out,
                                    title=f"{meta['model']}: top-1 accuracy {result['top1']:.3f} ({kind})"))
    np.set_printoptions(linewidth=150)
    print(counts)
    return 0


def _model(args):
    from .data import bundled_model
    from .train import load_model
    return load_model(args.model) if args.model else bundled_model("zf_small")


def _done(paths):
    for path in paths if isinstance(paths, list) else [paths]:
        print("wrote", path)
    return 0


def cmd_tour(args):
    from .tour import tour
    index = tour(args.out, args.model, args.twin, n_images=args.images, maps=args.maps,
                 progress=not args.quiet)
    print(f"wrote {index} (open it in a browser)")
    return 0


def cmd_topk(args):
    from .data import bundled_images
    from .tour import figure_top9
    net, mean, _ = _model(args)
    path, caption = figure_top9(net, mean, bundled_images(), args.layer, args.maps, args.out, args.seed)
    print(caption)
    return _done(path)


def cmd_occlude(args):
    import numpy as np

    from . import analysis, plot
    from .data import bundled_images, load_image
    net, mean, meta = _model(args)
    classes = meta.get("classes") or [str(c) for c in range(net.output_shapes(net.input_shape)[-1][1][0])]
    size = net.input_shape[1]
    if args.image.isdigit():
        images = bundled_images()
        where = {int(i): n for n, i in enumerate(images.indices)}
        if int(args.image) not in where:
            raise ValueError(f"test image {args.image} is not in the bundled sample; give an image file")
        n = where[int(args.image)]
        image, label = images.images[n], int(images.labels[n])
    else:
        image = np.round(load_image(args.image, size) * 255).astype(np.uint8)
        label = None
    if args.label is not None:
        if args.label not in classes:
            raise ValueError(f"--label must be one of {classes}, got {args.label!r}")
        label = classes.index(args.label)
    if label is None:   # no true class known: use the network's own answer on the clean image
        from .tour import predict_class
        label = predict_class(net, mean, image)
    result = analysis.occlusion(net, image, label, mean, args.layer, args.size, args.stride)
    name = os.path.splitext(os.path.basename(args.image))[0]
    return _done(plot.occlusion_figure(image.astype(np.float32) / 255, result, classes, label,
                                       os.path.join(args.out, f"occlusion_{name}.png")))


def cmd_invariance(args):
    from .data import bundled_images
    from .tour import figure_invariance
    net, mean, _ = _model(args)
    path, caption = figure_invariance(net, mean, bundled_images(), args.out)
    print(caption)
    return _done(path)


def cmd_evolution(args):
    from .data import bundled_images
    from .tour import figure_evolution
    _, mean, meta = _model(args)
    path, caption = figure_evolution(meta, mean, bundled_images(), args.out)
    print(caption)
    return _done(path)


def cmd_correspondence(args):
    from .data import bundled_images
    from .tour import figure_correspondence
    net, mean, _ = _model(args)
    path, result = figure_correspondence(net, mean, bundled_images(), args.out)
    layers = list(result.random)
    print(f"{'occluded part':<16}" + "".join(f"Delta {layer:<12}" for layer in layers))
    for part, d in result.parts.items():
        print(f"{part:<16}" + "".join(f"{d[layer]:<18.3f}" for layer in layers))
    print(f"{'random':<16}" + "".join(f"{m:.3f} +- {sd:.3f}{'':<6}" for m, sd in result.random.values()))
    return _done(path)


def cmd_filters(args):
    from .data import bundled_images
    from .tour import figure_filters, with_twin
    net, mean, _ = _model(args)
    path, caption = figure_filters(with_twin(net, mean, args.twin), args.out, bundled_images())
    print(caption)
    return _done(path)


def cmd_features(args):
    from . import analysis, data, plot
    net, mean, _ = _model(args)
    train, test = data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    layers = args.layers.split(",")
    print(f"linear probes on {args.train} training and {args.test} test images of CIFAR-10 ...")
    results = analysis.feature_analysis(net, (train.images[:args.train], train.labels[:args.train]),
                                        (test.images[:args.test], test.labels[:args.test]), mean,
                                        layers, epochs=args.epochs)
    print(f"{'layer':<8}{'train acc':>10}{'test acc':>10}")
    for layer, r in results.items():
        print(f"{layer:<8}{r.train_accuracy:>10.3f}{r.test_accuracy:>10.3f}")
    return _done(plot.curve(layers, [[r.train_accuracy for r in results.values()],
                                     [r.test_accuracy for r in results.values()]],
                            os.path.join(args.out, "features.png"), xlabel="layer", ylabel="accuracy",
                            title="Table 7: softmax on frozen features", labels=["train", "test"]))


def cmd_ablation(args):
    import json

    from . import analysis, plot
    from .backend import get_device
    from .train import TrainConfig
    train, val = _cifar_slices(args)
    keys = args.variants.split(",") if args.variants else None
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         lr_steps=args.lr_steps, seed=args.seed, snapshots=(),
                         renorm={} if args.renorm <= 0 else {"conv1": args.renorm})
    print(f"Table 3 ablation: {args.model} variants, {len(train)} training and {len(val)} "
          f"validation images, {args.epochs} epochs each, in {args.out}")
    results = analysis.ablation(train, val, config, args.out, args.model, keys, progress=not args.quiet,
                                device=get_device(args.device))
    print(f"{'variant':<12}{'parameters':>12}{'train error':>13}{'val error':>11}  Table 3 row")
    for r in results:
        print(f"{r.key:<12}{r.parameters:>12,}{r.train_error:>13.3f}{r.val_error:>11.3f}  {r.description}")
    rows = [{"key": r.key, "description": r.description, "options": r.options, "parameters": r.parameters,
             "train_error": r.train_error, "val_error": r.val_error} for r in results]
    with open(os.path.join(args.out, "ablation.json"), "w") as f:
        json.dump({"model": args.model, "train_images": len(train), "val_images": len(val),
                   "epochs": args.epochs, "rows": rows}, f, indent=1)
    return _done([os.path.join(args.out, "ablation.json"),
                  plot.bars([r.key for r in results], [[r.train_error for r in results],
                                                       [r.val_error for r in results]],
                            os.path.join(args.out, "ablation.png"), ylabel="top-1 error",
                            title=f"Table 3: ablations of {args.model}", labels=["train", "validation"])])


def cmd_transfer(args):
    import json

    import numpy as np

    from . import analysis, data, plot
    net, mean, meta = _model(args)
    if args.images:                     # Caltech-101 layout: one sub-folder per class
        dataset = data.load_image_folder(args.images, size=mean.shape[-1])
    else:
        dataset = data.load_cifar10(args.data, "test")
    per_class = [int(n) for n in args.per_class.split(",")]
    print(f"transfer: softmax on frozen {args.layer} of {meta['model']} vs training from scratch, "
          f"{dataset.name}: {len(dataset.classes)} classes, {len(dataset)} images, {args.folds} folds")
    results = analysis.transfer(net, mean, dataset, per_class, args.test_per_class, args.folds, args.layer,
                                scratch_epochs=args.scratch_epochs, model_name=meta["model"],
                                model_options=meta.get("model_options", {}), seed=args.seed)
    rows = [{"per_class": r.per_class, "pretrained": r.pretrained, "scratch": r.scratch} for r in results]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "transfer.json"), "w") as f:
        json.dump({"model": meta["model"], "dataset": dataset.name, "layer": args.layer, "rows": rows}, f,
                  indent=1)
    curves = [[float(np.mean(r.pretrained)) for r in results]]
    if args.scratch_epochs:
        curves.append([float(np.mean(r.scratch)) for r in results])
    return _done([os.path.join(args.out, "transfer.json"),
                  plot.curve(per_class, curves, os.path.join(args.out, "transfer.png"),
                             xlabel="training images per class", ylabel="mean class accuracy",
                             title=f"Fig. 9: {dataset.name}",
                             labels=["pretrained + softmax", "from scratch"][:len(curves)])])


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minizf", description="Zeiler & Fergus's deconvnet and experiments, from scratch.")
    parser.add_argument("--version", action="version", version=f"minizf {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the models and the devices").set_defaults(run=cmd_info)

    p = sub.add_parser("train", help="train a model on CIFAR-10 as in Sec. 3 of the paper",
                       description="Train on CIFAR-10 (official python-version files) with SGD, "
                                   "momentum, annealing and filter RMS renormalization (Sec. 3). "
                                   "Checkpoints every epoch; --resume continues bit-identically; "
                                   "Ctrl-C saves a checkpoint first.")
    p.add_argument("--model", default="zf-small", help="model name (default zf-small)")
    p.add_argument("--data", default=None, help="folder with CIFAR-10 (default $MINIZF_DATA or ../shared/data)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--out", default="runs/zf-small", help="output folder for checkpoints and logs")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10, e.g. 20,26")
    p.add_argument("--patience", type=int, default=0, help="also anneal after N epochs without val improvement")
    p.add_argument("--init", choices=("he", "paper"), default="he")
    p.add_argument("--init-from", default=None, help="start from the weights of a model file")
    p.add_argument("--conv1-std", type=float, default=None, help="separate init std for conv1, e.g. 0.01")
    p.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    p.add_argument("--drop", type=_ints, default=(), help="Table 3 ablation: layers to remove, e.g. 3,4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=0, help="train on the first N images only")
    p.add_argument("--val-subset", type=int, default=0, help="validate on the first N test images only")
    p.add_argument("--max-batches", type=int, default=None, help="pause after this many batches")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="top-1/top-5 error of a model on the CIFAR-10 test set",
                       description="Evaluate a model file (model.npz or a checkpoint) on the CIFAR-10 "
                                   "test set; prints top-1/top-5 error and writes a confusion matrix PNG.")
    p.add_argument("checkpoint")
    p.add_argument("--data", default=None)
    p.add_argument("--ten-crop", action="store_true", help="average 10 crops per image (Sec. 3)")
    p.add_argument("--subset", type=int, default=0)
    p.add_argument("--out", default=None, help="confusion matrix PNG path")
    p.set_defaults(run=cmd_evaluate)

    def figure_command(name, help_text, run, out="figures"):
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--model", default=None, help="model file (default: the bundled data/zf_small.npz)")
        q.add_argument("--out", default=out, help=f"output folder (default {out})")
        q.set_defaults(run=run)
        return q

    q = figure_command("tour", "all figures of Sec. 4 (Figs. 2, 4, 5, 6, 7, Table 1) from the bundled "
                       "model and images, with an index.html", cmd_tour, out="tour")
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file for Fig. 6")
    q.add_argument("--images", type=int, default=500, help="test images to scan for top-9 (default 500)")
    q.add_argument("--maps", type=int, default=6, help="feature maps per layer in the top-9 figures")
    q.add_argument("--quiet", action="store_true")
    q = figure_command("topk", "Fig. 2: the 9 strongest activations of random feature maps over the "
                       "bundled test images, projected by the deconvnet beside their image patches", cmd_topk)
    q.add_argument("--layer", default="conv5")
    q.add_argument("--maps", type=int, default=8)
    q.add_argument("--seed", type=int, default=0)
    q = figure_command("occlude", "Fig. 7: slide a grey square over IMAGE (a file, or the index of a "
                       "bundled CIFAR-10 test image) and map the strongest layer-5 feature, the "
                       "probability of the class and the most probable class", cmd_occlude)
    q.add_argument("image")
    q.add_argument("--label", default=None, help="true class name (default: the bundled label, or the "
                   "network's prediction for an image file)")
    q.add_argument("--layer", default="relu5")
    q.add_argument("--size", type=int, default=8, help="side of the square in pixels")
    q.add_argument("--stride", type=int, default=2)
    figure_command("invariance", "Fig. 5: feature distances at layers 1 and 7 and the true-class "
                   "probability as images are translated, scaled and rotated", cmd_invariance)
    figure_command("evolution", "Fig. 4: projections of the strongest activations at each training "
                   "snapshot, showing how features settle during training", cmd_evolution)
    figure_command("correspondence", "Table 1 (Sec. 4.3): occlude the same part (eyes, nose) of 5 cat "
                   "faces and measure how consistently layers 5 and 7 change (Delta)", cmd_correspondence)
    q = figure_command("filters", "Fig. 6 / Sec. 4.1: first-layer filters of the ZF and Krizhevsky-style "
                       "models with dead-filter counts and frequency coverage", cmd_filters)
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file (default: the bundled one)")
    q = figure_command("features", "Table 7 (Sec. 5): train a softmax classifier on the frozen features "
                       "of each layer (conv maps pooled to 4x4) and compare test accuracy by depth",
                       cmd_features)
    q.add_argument("--data", default=None, help="folder with CIFAR-10 (default $MINIZF_DATA or ../shared/data)")
    q.add_argument("--layers", default="relu1,relu2,relu3,relu4,relu5,relu7")
    q.add_argument("--train", type=int, default=5000, help="training images for the classifiers")
    q.add_argument("--test", type=int, default=2000, help="test images")
    q.add_argument("--epochs", type=int, default=30)

    q = sub.add_parser("ablation", help="Table 3 (Sec. 5.1): remove or resize layers, retrain each "
                       "variant the same way, compare train and validation errors",
                       description="Table 3 (Sec. 5.1): train each architecture variant (see "
                                   "minizf.analysis.VARIANTS) on CIFAR-10 with one schedule and compare "
                                   "errors. Each variant checkpoints in OUT/KEY; run the same command "
                                   "again to resume.")
    q.add_argument("--data", default=None, help="folder with CIFAR-10 (default $MINIZF_DATA or ../shared/data)")
    q.add_argument("--model", default="zf-small", help="the model to vary (default zf-small)")
    q.add_argument("--variants", default=None, help="comma-separated keys (default all): " +
                   ",".join(key for key, _, _ in _ablation_variants()))
    q.add_argument("--epochs", type=int, default=10)
    q.add_argument("--subset", type=int, default=10000, help="training images (default 10000; 0: all)")
    q.add_argument("--val-subset", type=int, default=2000, help="validation images (default 2000; 0: all)")
    q.add_argument("--batch-size", type=int, default=128)
    q.add_argument("--lr", type=float, default=0.01)
    q.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10")
    q.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", default="runs/ablation")
    q.add_argument("--quiet", action="store_true")
    q.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    q.set_defaults(run=cmd_ablation)

    q = figure_command("transfer", "Tables 4-5, Fig. 9 (Sec. 5.2): a softmax on the frozen layer-7 "
                       "features, trained on a few images per class, against the same network trained "
                       "from scratch on them", cmd_transfer)
    q.add_argument("--images", default=None, help="an image folder with one sub-folder per class "
                   "(Caltech-101 layout); default: the CIFAR-10 test set (images the bundled model never "
                   "trained on, but its own classes)")
    q.add_argument("--data", default=None, help="folder with CIFAR-10 (default $MINIZF_DATA or ../shared/data)")
    q.add_argument("--per-class", default="5,15,30", help="training images per class (default 5,15,30)")
    q.add_argument("--test-per-class", type=int, default=50)
    q.add_argument("--folds", type=int, default=5, help="random splits to average (default 5)")
    q.add_argument("--layer", default="relu7")
    q.add_argument("--scratch-epochs", type=int, default=30, help="epochs of the from-scratch "
                   "comparison (0: skip it; it trains one network per fold)")
    q.add_argument("--seed", type=int, default=0)
    return parser


def _ablation_variants():
    from .analysis.ablation import VARIANTS
    return VARIANTS


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        cmd_info(args)
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"minizf {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
