"""The experiments of Sec. 5: features (Table 7), ablation (Table 3), transfer (Tables 4-5, 7, Fig. 9)."""
import os

from ..io import check_replaceable, check_writable
from .common import (_device, _done, _ints, _model, _write_json, figure_command, nonnegative,
                     positive, positive_real)
from .training import _cifar_slices


def _pretraining_sets(args, net, mean):
    """The classes a model was trained on, as (train, test) sets it can see: CIFAR-10 train/test
    for a 32 px model, Imagenette train/val (centre 64 px) for a 64 px one."""
    import numpy as np

    from .. import data
    if net.input_shape[-1] == 32:
        return data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    size = net.input_shape[-1]
    sets = []
    for split in ("train", "val"):
        ds = data.load_imagenette(args.data, split, crop=size)
        sets.append(ds.subset(np.random.default_rng(0).permutation(len(ds)), ds.name))   # sorted by class: shuffle
    return tuple(sets)


def cmd_features(args):
    from .. import analysis, plot
    net, mean, meta = _model(args)
    layers = args.layers.split(",")
    for layer in layers:
        net.index(layer)
    if args.json:
        check_writable(args.json)
        check_replaceable(args.json, "--json")
    train, test = _pretraining_sets(args, net, mean)
    print(f"{args.classifier} probes on {args.train} training and {args.test} test images of {train.name} / "
          f"{test.name} ...")
    results = analysis.feature_analysis(net, (train.images[:args.train], train.labels[:args.train]),
                                        (test.images[:args.test], test.labels[:args.test]), mean,
                                        layers, epochs=args.epochs, classifier=args.classifier)
    print(f"{'layer':<8}{'train acc':>10}{'test acc':>10}")
    for layer, r in results.items():
        print(f"{layer:<8}{r.train_accuracy:>10.3f}{r.test_accuracy:>10.3f}")
    verdict = analysis.depth_verdict({layer: r.test_accuracy for layer, r in results.items()})
    print(verdict)
    written = [plot.curve(layers, [[r.train_accuracy for r in results.values()],
                                   [r.test_accuracy for r in results.values()]],
                          os.path.join(args.out, "features.png"), xlabel="layer", ylabel="accuracy",
                          title=f"Table 7: {args.classifier} on frozen features", labels=["train", "test"])]
    if args.json:
        _write_json(args.json, {"model": meta["model"], "dataset": train.name, "classifier": args.classifier,
                                "train_images": int(min(args.train, len(train))),
                                "test_images": int(min(args.test, len(test))),
                                "layers": {layer: {"train": r.train_accuracy, "test": r.test_accuracy}
                                           for layer, r in results.items()},
                                "verdict": {"holds": verdict.holds, "text": str(verdict)}})
        written.append(args.json)
    return _done(written)


def cmd_ablation(args):
    from .. import analysis, plot
    from ..train import TrainConfig
    train, val = _cifar_slices(args)
    keys = args.variants.split(",") if args.variants else None
    check_replaceable(os.path.join(args.out, "ablation.json"), "--out")     # before the training
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         lr_steps=args.lr_steps, seed=args.seed, snapshots=(),
                         renorm={} if args.renorm <= 0 else {"conv1": args.renorm})
    print(f"Table 3 ablation: {args.model} variants, {len(train)} training and {len(val)} "
          f"validation images, {args.epochs} epochs each, in {args.out}")
    results = analysis.ablation(train, val, config, args.out, args.model, keys, progress=not args.quiet,
                                device=_device(args))
    print(f"{'variant':<12}{'parameters':>12}{'train error':>13}{'val error':>11}  Table 3 row")
    for r in results:
        print(f"{r.key:<12}{r.parameters:>12,}{r.train_error:>13.3f}{r.val_error:>11.3f}  {r.description}")
    rows = [{"key": r.key, "description": r.description, "options": r.options, "parameters": r.parameters,
             "train_error": r.train_error, "val_error": r.val_error} for r in results]
    _write_json(os.path.join(args.out, "ablation.json"), {"model": args.model, "train_images": len(train),
                "val_images": len(val), "epochs": args.epochs, "rows": rows}, "--out")
    return _done([os.path.join(args.out, "ablation.json"),
                  plot.bars([r.key for r in results], [[r.train_error for r in results],
                                                       [r.val_error for r in results]],
                            os.path.join(args.out, "ablation.png"), ylabel="top-1 error",
                            title=f"Table 3: ablations of {args.model}", labels=["train", "validation"])])


def _ablation_variants():
    from ..analysis.ablation import VARIANTS
    return VARIANTS


def _layer_number(layer):
    digits = "".join(ch for ch in layer if ch.isdigit())
    return int(digits) if digits else None


def _transfer_images(args, net, mean, meta):
    """The images of `minizf transfer`: --images, else Caltech-101 under --data for a photo model,
    else the CIFAR-10 test set for a 32 px one; seen as the model was trained."""
    from .. import data
    if not args.images and net.input_shape[-1] != 32:
        caltech = data.data_root(args.data) / "caltech101"
        if not caltech.is_dir():
            raise ValueError(f"{meta['model']} takes {net.input_shape[-1]} px photos: give an image folder "
                             f"with --images (e.g. Caltech-101; none found at {caltech})")
        args.images = str(caltech)
    if args.images:                     # Caltech-101 layout: one sub-folder per class
        return data.load_image_folder(args.images, size=mean.shape[-1], crop=net.input_shape[-1])
    return data.load_cifar10(args.data, "test")


def _fold_stats(scores):
    import numpy as np
    return {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "folds": [float(a) for a in scores]}


def cmd_transfer(args):
    import numpy as np

    from .. import analysis, plot
    from ..analysis.features import CLASSIFIERS
    from ..distributed import world
    comm = world(args.distributed, _device(args))
    net, mean, meta = _model(args)
    layers, classifiers = args.layers.split(","), args.classifiers.split(",")
    for layer in layers:
        net.index(layer)                # a clear error for an unknown layer, before any work
    unknown = sorted(set(classifiers) - set(CLASSIFIERS))
    if unknown:
        raise ValueError(f"--classifiers: unknown {unknown}; expected some of {sorted(CLASSIFIERS)}")
    if not args.per_class or min(args.per_class) < 1:
        raise ValueError(f"--per-class: expected positive numbers of images, got {args.per_class}")
    if args.json:
        check_writable(args.json)
        check_replaceable(args.json, "--json")
    check_replaceable(os.path.join(args.out, "transfer.json"), "--out")
    chosen = args.scratch_folds
    if args.scratch_fold_list:
        if min(args.scratch_fold_list) < 1 or max(args.scratch_fold_list) > args.folds:
            raise ValueError(f"--scratch-fold-list: folds are counted from 1 to {args.folds}, "
                             f"got {list(args.scratch_fold_list)}")
        chosen = {f - 1 for f in args.scratch_fold_list}
    dataset = _transfer_images(args, net, mean, meta)
    which = ("each fold" if chosen is None else f"the first {chosen} folds" if isinstance(chosen, int)
             else "folds " + ",".join(str(f + 1) for f in sorted(chosen)))
    scratch = (f", against the same network trained from scratch for {args.scratch_epochs} epochs "
               f"(SGD 0.01, momentum 0.9, batch up to 128, crops and flips; one run on {which})"
               if args.scratch_epochs else "")
    if comm.rank == 0:
        print(f"transfer: {'/'.join(classifiers)} on frozen {', '.join(layers)} of {meta['model']}{scratch}; "
              f"{dataset.name}: {len(dataset.classes)} classes, {len(dataset)} images, {args.folds} folds, "
              f"up to {args.test_per_class} test images per class")
    results = analysis.transfer(net, mean, dataset, list(args.per_class), args.test_per_class, args.folds,
                                layers=layers, classifiers=classifiers, scratch_epochs=args.scratch_epochs,
                                model_name=meta["model"], model_options=meta.get("model_options", {}),
                                seed=args.seed, progress=not args.quiet and comm.rank == 0, scratch_folds=chosen,
                                comm=comm)
    if comm.rank:                       # features extracted; rank 0 trains the classifiers and reports
        return 0
    _print_transfer(results)
    verdicts = [analysis.transfer_verdict(results)] if args.scratch_epochs else []
    if len(layers) >= 3:                # Table 7: by depth, at the largest training set
        verdicts.append(analysis.depth_verdict({l: float(np.mean(results[-1].probes[f"{l} {classifiers[0]}"]))
                                                for l in layers}))
    for v in verdicts:
        print(v)
    table = {"model": meta["model"], "dataset": dataset.name, "classes": len(dataset.classes),
             "folds": args.folds, "test_per_class": args.test_per_class, "layers": layers,
             "classifiers": classifiers, "scratch_epochs": args.scratch_epochs,
             "rows": [{"per_class": r.per_class, "pretrained": {k: _fold_stats(v) for k, v in r.probes.items()},
                       "scratch": _fold_stats(r.scratch) if r.scratch else None} for r in results],
             "verdicts": [{"figure": v.figure, "holds": v.holds, "text": str(v)} for v in verdicts]}
    written = [os.path.join(args.out, "transfer.json")] + ([args.json] if args.json else [])
    for path in written:
        _write_json(path, table, "--json" if path == args.json else "--out")
    series = {f"pretrained {k}": [r.probes[k] for r in results] for k in results[0].probes}
    if args.scratch_epochs:
        series["from scratch"] = [r.scratch for r in results]
    written.append(plot.curve(list(args.per_class), [[float(np.mean(v)) for v in s] for s in series.values()],
                              os.path.join(args.out, "transfer.png"), xlabel="training images per class",
                              ylabel="mean class accuracy", title=f"Fig. 9: {dataset.name}",
                              labels=list(series), errors=[[float(np.std(v)) for v in s] for s in series.values()]))
    return _done(written)


def _print_transfer(results):
    """The transfer table, our mean +- std over folds beside the paper's Caltech-101 numbers."""
    import numpy as np

    from ..analysis import PAPER_TABLE4, PAPER_TABLE7
    print(f"{'per class':>9}  {'features':<16}{'here':>16}{'paper (Caltech-101)':>22}")
    for r in results:
        for key, v in r.probes.items():
            layer, kind = key.split(" ")
            paper = PAPER_TABLE7.get(kind, {}).get(_layer_number(layer)) if r.per_class == 30 else None
            if layer in ("relu7", "fc7") and kind == "softmax" and r.per_class in PAPER_TABLE4:
                paper = PAPER_TABLE4[r.per_class]["pretrained"][0]
            print(f"{r.per_class:>9}  {key:<16}{np.mean(v):>9.3f} +- {np.std(v):.3f}"
                  f"{'' if paper is None else f'{paper / 100:>16.3f}':>22}")
        if r.scratch:
            paper = PAPER_TABLE4.get(r.per_class, {}).get("scratch")
            print(f"{r.per_class:>9}  {'from scratch':<16}{np.mean(r.scratch):>9.3f} +- {np.std(r.scratch):.3f}"
                  f"{'' if paper is None else f'{paper[0] / 100:>16.3f}':>22}")


def add_commands(sub):
    """Register features, ablation and transfer."""
    q = figure_command(sub, "features", "Table 7 (Sec. 5): train a softmax or linear SVM on the frozen features "
                       "of each layer (conv maps pooled to 4x4) of the model's own classes (CIFAR-10 or "
                       "Imagenette) and compare test accuracy by depth; for Caltech-101, use "
                       "`minizf transfer --layers ... --classifiers svm,softmax`",
                       cmd_features)
    q.add_argument("--data", default=None, help="folder with the datasets (default $MINIZF_DATA or ../shared/data)")
    q.add_argument("--layers", default="relu1,relu2,relu3,relu4,relu5,relu7")
    q.add_argument("--train", type=positive, default=5000, help="training images for the classifiers")
    q.add_argument("--test", type=positive, default=2000, help="test images")
    q.add_argument("--epochs", type=positive, default=30)
    q.add_argument("--classifier", choices=("softmax", "svm"), default="softmax",
                   help="softmax or a linear SVM (one-vs-rest hinge)")
    q.add_argument("--json", default=None, help="also write the table to this JSON file")

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
    q.add_argument("--epochs", type=positive, default=10)
    q.add_argument("--subset", type=nonnegative, default=10000, help="training images (default 10000; 0: all)")
    q.add_argument("--val-subset", type=nonnegative, default=2000, help="validation images (default 2000; 0: all)")
    q.add_argument("--batch-size", type=positive, default=128)
    q.add_argument("--lr", type=positive_real, default=0.01)
    q.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10")
    q.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    q.add_argument("--seed", type=nonnegative, default=0)
    q.add_argument("--out", default="runs/ablation")
    q.add_argument("--quiet", action="store_true")
    q.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    q.set_defaults(run=cmd_ablation)

    q = figure_command(sub, "transfer", "Tables 4-5, 7 and Fig. 9 (Sec. 5.2): a softmax or linear SVM on the "
                       "frozen features of layers 5 and 7 (or any), trained on a few images per class, "
                       "against the same network trained from scratch on them; mean class accuracy "
                       "+- std over folds, beside the paper's Caltech-101 numbers", cmd_transfer)
    q.add_argument("--images", default=None, help="an image folder with one sub-folder per class "
                   "(Caltech-101 layout); default: the CIFAR-10 test set (images the bundled model never "
                   "trained on, but its own classes)")
    q.add_argument("--data", default=None, help="folder with CIFAR-10 (default $MINIZF_DATA or ../shared/data)")
    q.add_argument("--per-class", type=_ints, default=(5, 15, 30), help="training images per class, "
                   "comma-separated (default 5,15,30; Fig. 9 on Caltech-101: 1,2,3,5,10,15,20,30)")
    q.add_argument("--test-per-class", type=positive, default=50)
    q.add_argument("--folds", type=positive, default=5, help="random splits to average (default 5)")
    q.add_argument("--layers", default="relu5,relu7", help="comma-separated layers whose frozen features "
                   "are classified (default relu5,relu7: Table 4 for layers 5 and 7; "
                   "relu1,relu2,relu3,relu4,relu5,relu7 with --per-class 30 makes Table 7)")
    q.add_argument("--classifiers", default="softmax", help="softmax, svm (a linear SVM) or both, "
                   "comma-separated (Table 7 compares them)")
    q.add_argument("--scratch-epochs", type=nonnegative, default=30, help="epochs of the from-scratch "
                   "comparison (0: skip it; it trains one network per fold)")
    q.add_argument("--scratch-folds", type=positive, default=None, help="train from scratch on the first N "
                   "folds only (default: every fold)")
    q.add_argument("--scratch-fold-list", type=_ints, default=None, help="train from scratch on these folds "
                   "only, counted from 1 (e.g. 3,4,5: the rest of an earlier --scratch-folds 2 run)")
    q.add_argument("--seed", type=nonnegative, default=0)
    q.add_argument("--json", default=None, help="also write the table (fold means and stds) to this file")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--distributed", action="store_true", help="extract the features over MPI ranks, as "
                   "minizf mpirun -n K transfer ... runs it (pip install 'minizf[mpi]'); rank 0 trains and reports")
