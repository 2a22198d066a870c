"""``minizf train`` and ``minizf evaluate``: Sec. 3's training, and Table 2's ensembles."""
import os
import re
import shutil

from .common import (_device, _done, _ints, _load_any_model, _write_json, add_model_options, input_side,
                     nonnegative, nonnegative_real, positive, positive_real, with_model_options)

RESUME_MAY_CHANGE = {"epochs": "--epochs"}


RESUME_MUST_MATCH = {"batch_size": "--batch-size", "lr": "--lr", "seed": "--seed", "weight_decay": "--weight-decay",
                     "lr_steps": "--lr-steps", "init": "--init", "crop_pad": "--crop-pad", "renorm": "--renorm",
                     "plateau_patience": "--patience", "dtype": "--dtype"}


def _cifar_slices(args):
    """The training and validation sets (CIFAR-10 train/test, or Imagenette train/val with
    --dataset imagenette), cut to the first --subset / --val-subset images (0: all)."""
    from .. import data
    folders = getattr(args, "dataset", "cifar10") == "imagenette"
    if folders:
        train, val = data.load_imagenette(args.data, "train"), data.load_imagenette(args.data, "val")
        if train.classes != val.classes:
            only = sorted(set(train.classes) ^ set(val.classes))
            raise ValueError(f"--data {args.data}: Imagenette's train and val folders hold different classes "
                             f"({', '.join(only) or 'in another order'}); they must hold the same")
    else:
        train, val = data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    # Image folders are sorted by class: their first N images would be one class, so a subset takes
    # images from every class in turn. CIFAR-10's files are shuffled already (and runs made with
    # --subset keep their images).
    pick = data.balanced_first if folders else (lambda ds, n: range(min(n, len(ds))))
    if args.subset:
        train = train.subset(pick(train, args.subset))
    if args.val_subset:
        val = val.subset(pick(val, args.val_subset))
    return train, val


def _crop_pad(args):
    """Random crops come from the image padded by 4 px (CIFAR-10, 32 px crops of 32 px images) or,
    for Imagenette, from the 72 px photo itself (64 px crops): --crop-pad overrides."""
    if args.crop_pad is not None:
        if args.crop_pad > 32:                 # a pad beyond the image only adds grey, at a memory cost
            raise ValueError(f"--crop-pad {args.crop_pad}: at most 32 pixels (the crops are 32 or 64 px)")
        return args.crop_pad
    return 0 if args.dataset == "imagenette" else 4


def _given(args, flag):
    """Whether a flag was typed on the command line (not just left at its default)."""
    return any(a == flag or a.startswith(flag + "=") for a in args.typed)


RUN_FILES = ("checkpoint.npz", "model.npz", "metrics.jsonl", "curves.png")
SNAPSHOT = re.compile(r"epoch_\d{3,}\.npz$")


def run_files(out):
    """The files of a run in ``out`` that minizf wrote (by name): never anything else there."""
    found = [os.path.join(out, name) for name in RUN_FILES if os.path.isfile(os.path.join(out, name))]
    folder = os.path.join(out, "snapshots")
    if os.path.isdir(folder):
        found += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                  if SNAPSHOT.fullmatch(n) and os.path.isfile(os.path.join(folder, n))]
    return found


def _lock(out):
    """Hold OUT/.minizf-train.lock for this process's life; one line naming the holder if another has it."""
    import fcntl
    os.makedirs(out, exist_ok=True)
    handle = open(os.path.join(out, ".minizf-train.lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ValueError(f"--out {out}: a training is running there already ({holder}); wait for it, or "
                         "choose another --out") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def _move_aside(out):
    """--force: the old run's own files into OUT/.previous-run-*/ (same layout); returns that folder."""
    import time
    aside = os.path.join(out, f".previous-run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    for path in run_files(out):
        target = os.path.join(aside, os.path.relpath(path, out))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(path, target)
    return aside


def _claim_run_folder(args, config, comm):
    """(lock, moved-aside folder): rank 0 locks --out and checks it (the only writer); every rank
    gets the same verdict, so a refusal ends them all, said once."""
    from ..distributed import refuse_together
    lock = aside = problem = None
    if comm.rank == 0:
        if comm.size > 1:
            print(f"distributed: {comm.name}; each rank takes 1/{comm.size} of every batch of {args.batch_size}")
        try:
            lock = _lock(args.out)              # one training per --out at a time
            aside = _check_run_folder(args, config)
        except ValueError as err:
            problem = str(err)
    try:
        refuse_together(comm, problem)
    except ValueError:                          # rank 0's: it holds the lock
        if lock is not None:
            lock.close()
        raise
    return lock, aside


def _saved_settings(out):
    """(meta, training settings) of OUT/checkpoint.npz, for --resume; one line when it is missing or is
    not a checkpoint of minizf train."""
    import json

    from ..io import load_npz
    checkpoint = os.path.join(out, "checkpoint.npz")
    if not os.path.exists(checkpoint):
        raise ValueError(f"--resume: no checkpoint in {out}")
    arrays = load_npz(checkpoint)
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
        saved = meta["config"]
        if "state" not in arrays or not isinstance(saved, dict):
            raise KeyError("state")
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"--resume: {checkpoint} is not a training checkpoint of minizf train (no training "
                         "state or settings in it)") from None
    return meta, saved


def _check_run_folder(args, config):
    """Refuse to start over a run (unless --force), and refuse a --resume whose typed settings
    differ from the checkpoint's, before any work is done. With --force the old run's files are
    moved aside (returned: deleted once the new run has saved its first checkpoint)."""
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if not args.resume:
        old = run_files(args.out)
        if old and not args.force:
            what = "a run already (checkpoint.npz)" if os.path.exists(checkpoint) else \
                f"files a run would replace ({os.path.relpath(old[0], args.out)})"
            raise ValueError(f"--out {args.out} holds {what}: add --resume to continue a run, or --force to "
                             "start a new one there (the old files are kept until its first checkpoint)")
        return _move_aside(args.out) if old else None
    meta, saved = _saved_settings(args.out)
    for key, flag in RESUME_MUST_MATCH.items():
        mine, theirs = getattr(config, key), saved.get(key)
        if isinstance(mine, tuple):
            mine, theirs = list(mine), list(theirs or [])
        if _given(args, flag) and mine != theirs:
            raise ValueError(f"--resume: {args.out} was trained with {flag} {theirs}, not {mine}; resume "
                             f"with the same setting (or leave {flag} out), or start a new run in another --out")
    for flag, key in (("--subset", "subset"), ("--dataset", "dataset"), ("--model", "model")):
        theirs = meta.get("data", {}).get(key, meta.get(key))
        if _given(args, flag) and theirs is not None and theirs != getattr(args, key):
            raise ValueError(f"--resume: {args.out} was trained with {flag} {theirs}, not {getattr(args, key)}")
    if _given(args, "--epochs") and args.epochs != saved["epochs"]:
        print(f"resuming with --epochs {args.epochs} (the run was set to {saved['epochs']})")


def _renorm_radii(net, args):
    """Sec. 3's filter renormalisation: {conv layer: --renorm} for conv1 or for every conv layer."""
    from ..layers import Conv2D
    if args.renorm <= 0:
        return {}
    convs = [name for name, layer in net if isinstance(layer, Conv2D)]
    return {name: args.renorm for name in (convs if args.renorm_layers == "all" else convs[:1])}


def _snapshots(args):
    """Snapshot epochs: --snapshots, else the paper's Fig. 4 epochs scaled to --epochs."""
    from ..train import paper_snapshots
    return tuple(args.snapshots) if args.snapshots else paper_snapshots(args.epochs)


def cmd_train(args):
    from .. import models
    from ..distributed import agree, world
    from ..plot import training_curves
    from ..train import TrainConfig, Trainer
    device = _device(args)              # a missing GPU is said before the data is read
    crop_pad = _crop_pad(args)          # and so is a flag out of range
    comm = world(args.distributed, device)      # and a missing mpi4py
    options = {"drop": list(args.drop)} if args.drop else {}
    net = models.build(args.model, **options)
    expected = 64 if args.dataset == "imagenette" else 32          # the crops the data gives
    if net.input_shape and net.input_shape[-1] != expected:
        raise ValueError(f"--model {args.model} takes {net.input_shape[-1]} px images, but --dataset "
                         f"{args.dataset} gives {expected} px crops; choose a model made for them")
    if args.resume:
        _saved_settings(args.out)               # a missing or foreign checkpoint, before the data is read
    train_set, val_set = _cifar_slices(args)
    agree(comm, "data", (len(train_set), len(val_set) if val_set is not None else 0))  # else one waits forever
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, lr_steps=args.lr_steps,
                         plateau_patience=args.patience, init=args.init, seed=args.seed,
                         conv1_std=args.conv1_std, crop_pad=crop_pad,
                         renorm=_renorm_radii(net, args), snapshots=_snapshots(args), dtype=args.dtype)
    lock, aside = _claim_run_folder(args, config, comm)
    trainer = Trainer(net, args.model, train_set, val_set, config, args.out, options,
                      progress=not args.quiet, device=device, comm=comm,
                      data_info={"dataset": args.dataset, "subset": args.subset})
    if aside:                                   # the old run goes once the new one can be resumed
        trainer.on_checkpoint = lambda: shutil.rmtree(aside, ignore_errors=True)
    try:
        status = trainer.run(resume=args.resume, max_batches=args.max_batches, init_from=args.init_from)
    except KeyboardInterrupt:
        return 130
    except Exception as err:                    # noqa: BLE001 - one rank's failure must stop them all
        if comm.size == 1:
            raise
        comm.abort(f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err),
                   2 if isinstance(err, ValueError) else 1)
    finally:
        if lock is not None:
            lock.close()
    if comm.rank:
        return 0
    history = trainer.state["history"]
    if history:
        print("wrote", training_curves(history, os.path.join(args.out, "curves.png")))
    print(f"{status}: {args.out}")
    return 0


def _evaluation_set(args, meta, mean, cache):
    """The images a model is scored on, labels in the model's class order: --images FOLDER (short
    side resized to the size the model was trained at, centre crop) or the CIFAR-10 test set."""
    import numpy as np

    from .. import data
    size = mean.shape[-1]
    if size not in cache:
        if args.images:
            dataset = data.load_image_folder(args.images, size=size)
            if args.subset:     # a fixed random sample: the folder is sorted by class
                pick = np.sort(np.random.default_rng(0).permutation(len(dataset))[:args.subset])
                dataset = dataset.subset(pick, f"{dataset.name} (random {len(pick)})")
        else:
            dataset = data.load_cifar10(args.data, "test")
            if args.subset:
                dataset = dataset.subset(range(min(args.subset, len(dataset))))
        cache[size] = dataset
    dataset = cache[size]
    classes = meta.get("classes") or dataset.classes
    if not args.images:         # CIFAR-10's labels, for a model trained on CIFAR-10
        if len(classes) != len(dataset.classes):
            raise ValueError(f"{meta['model']} has {len(classes)} classes, CIFAR-10 has 10: "
                             "give its images with --images FOLDER")
        return dataset, dataset.labels, classes
    unknown = sorted(set(dataset.classes) - set(classes))     # a folder's classes are matched by name
    if unknown:
        raise ValueError(f"{meta['model']} knows the classes {classes}; the images hold others: {unknown}")
    relabel = np.array([classes.index(c) for c in dataset.classes])
    return dataset, relabel[dataset.labels], classes


def cmd_evaluate(args):
    """Score one model or, with several, each of them and their ensemble (Table 2)."""
    import numpy as np

    from ..io import check_replaceable, check_writable
    from ..plot import confusion_figure
    from ..train import confusion_matrix, ensemble, predict, score
    kind = "10-crop" if args.ten_crop else "single-crop"
    figure = args.out or "."
    figure = figure if figure.endswith(".png") else os.path.join(figure, "confusion.png")
    check_replaceable(figure, "--out")              # before the scoring, not after
    if args.json:
        check_writable(args.json, "--json")
        check_replaceable(args.json, "--json")
    cache, rows, probs, reference = {}, [], [], None
    device = _device(args)
    for path in args.checkpoint:
        net, mean, meta = with_model_options(*_load_any_model(path), args, source=path)
        net.to(device)
        dataset, labels, classes = _evaluation_set(args, meta, mean, cache)
        if reference is None:
            reference = (dataset.name, labels, classes)
        elif classes != reference[2] or not np.array_equal(labels, reference[1]):
            raise ValueError(f"{path}: its classes or images differ from {args.checkpoint[0]}'s; "
                             "an ensemble needs models of the same classes")
        crop_pad = meta.get("config", {}).get("crop_pad", 4)
        try:
            p = predict(net, dataset.images, mean, ten_crop=args.ten_crop, crop_pad=crop_pad)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        probs.append(p)
        rows.append((os.path.basename(path), meta["model"], score(p, labels)))
    name, labels, classes = reference
    if len(probs) > 1:
        rows.append(("ensemble", f"average of {len(probs)} models", score(ensemble(probs), labels)))
    print(f"{name}: {len(labels)} images, {kind}")
    print(f"{'model':<28}{'':<24}{'top-1 error':>12}{'top-5 error':>12}")
    for file, model, r in rows:
        print(f"{file:<28}{model:<24}{1 - r['top1']:>12.4f}{1 - r['top5']:>12.4f}")
    if len(probs) > 1:
        from ..analysis import ensemble_verdict
        print(ensemble_verdict({f: 1 - r["top1"] for f, _, r in rows[:-1]}, 1 - rows[-1][2]["top1"]))
    best = rows[-1][2]
    print("per-class accuracy: " + ", ".join(f"{c} {a:.3f}" for c, a in zip(classes, best["per_class"])))
    counts = confusion_matrix(labels, best["probs"].argmax(axis=1), len(classes))
    written = [confusion_figure(counts, classes, figure, title=f"{rows[-1][1]}: top-1 accuracy "
                                f"{best['top1']:.3f} ({kind})")]
    if args.json:
        table = {"dataset": name, "images": int(len(labels)), "crops": kind, "classes": classes,
                 "models": [{"file": f, "model": m, "top1": r["top1"], "top5": r["top5"], "loss": r["loss"],
                             "per_class": [None if np.isnan(a) else float(a) for a in r["per_class"]]}
                            for f, m, r in rows]}
        _write_json(args.json, table)
        written.append(args.json)
    return _done(written)


def add_commands(sub):
    """Register train and evaluate."""
    p = sub.add_parser("train", help="train a model on CIFAR-10 or Imagenette as in Sec. 3 of the paper",
                       description="Train on CIFAR-10 (official python-version files) or Imagenette with SGD, "
                                   "momentum, annealing and filter RMS renormalization (Sec. 3). "
                                   "Checkpoints every epoch; --resume continues bit-identically; "
                                   "Ctrl-C saves a checkpoint first.")
    p.add_argument("--model", default="zf-small", help="model name (default zf-small)")
    p.add_argument("--dataset", choices=("cifar10", "imagenette"), default="cifar10",
                   help="cifar10 (32 px, for zf-small) or imagenette (72 px photos cropped to 64, for zf64)")
    p.add_argument("--data", default=None, help="folder with the datasets (default $MINIZF_DATA or ../shared/data)")
    p.add_argument("--crop-pad", type=nonnegative, default=None,
                   help="pad images by this many pixels before random crops (default 4 for cifar10, 0 for imagenette)")
    p.add_argument("--epochs", type=positive, default=30)
    p.add_argument("--out", default="runs/zf-small", help="output folder for checkpoints and logs")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--force", action="store_true", help="start a new run in an --out that holds one "
                   "(the old run's checkpoint, model, metrics and snapshots are moved aside, and deleted once "
                   "the new run has saved its first checkpoint; nothing else in --out is touched)")
    p.add_argument("--batch-size", type=positive, default=128)
    p.add_argument("--lr", type=positive_real, default=0.01)
    p.add_argument("--weight-decay", type=nonnegative_real, default=5e-4)
    p.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10, e.g. 20,26")
    p.add_argument("--patience", type=nonnegative, default=0, help="also anneal after N epochs without val improvement")
    p.add_argument("--init", choices=("he", "paper"), default="he")
    p.add_argument("--init-from", default=None, help="start from the weights of a model file")
    p.add_argument("--conv1-std", type=positive_real, default=None, help="separate init std for conv1, e.g. 0.01")
    p.add_argument("--renorm", type=nonnegative_real, default=0.1,
                   help="RMS radius of conv filters, renormalised after each step (Sec. 3; 0: off)")
    p.add_argument("--renorm-layers", choices=("all", "conv1"), default="all",
                   help="which conv layers --renorm holds: all of them (the paper's, default) or conv1 only")
    p.add_argument("--snapshots", type=_ints, default=(),
                   help="epochs whose weights are kept for Fig. 4, e.g. 1,2,5 (default: the paper's "
                        "1,2,5,10,20,30,40,64 of 70, scaled to --epochs)")
    p.add_argument("--drop", type=_ints, default=(), help="Table 3 ablation: layers to remove, e.g. 3,4")
    p.add_argument("--seed", type=nonnegative, default=0)
    p.add_argument("--subset", type=nonnegative, default=0, help="train on the first N images only")
    p.add_argument("--val-subset", type=nonnegative, default=0, help="validate on the first N test images only")
    p.add_argument("--max-batches", type=positive, default=None, help="pause after this many batches")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="float64 is slower; "
                   "two runs that differ only in summation order (threads, MPI ranks) then agree "
                   "far beyond float32's rounding, which ReLU and max-pool otherwise amplify")
    p.add_argument("--distributed", action="store_true", help="data-parallel over MPI, as minizf "
                   "mpirun -n K train ... runs it (needs pip install 'minizf[mpi]'); the same global batch "
                   "and images as one process, rank 0 writes the files")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="top-1/top-5 error of models and their ensemble (Table 2)",
                       description="Evaluate model files (model.npz or checkpoints) on the CIFAR-10 test "
                                   "set or an image folder (--images); prints top-1/top-5 error and the "
                                   "per-class accuracy, and writes a confusion matrix PNG. With several "
                                   "models, their ensemble (the average of their class probabilities, "
                                   "Table 2) is scored too.")
    p.add_argument("checkpoint", nargs="+", help="one or more model files")
    p.add_argument("--images", default=None, help="a folder with one sub-folder per class, named as the "
                   "model's classes (e.g. ../shared/data/imagenette/val); default: the CIFAR-10 test set")
    p.add_argument("--data", default=None)
    p.add_argument("--ten-crop", action="store_true", help="average 10 crops per image (Sec. 3)")
    p.add_argument("--subset", type=nonnegative, default=0, help="score N images only (a fixed random sample of "
                   "an image folder; the first N CIFAR-10 test images)")
    p.add_argument("--out", default=None, help="folder for confusion.png (default: the current folder), "
                   "or a .png path")
    p.add_argument("--json", default=None, help="also write the table to this JSON file")
    p.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    p.add_argument("--input-size", type=input_side, default=None, help="side of the square input, for a model "
                   "file that does not say it (an .onnx from elsewhere)")
    add_model_options(p)
    p.set_defaults(run=cmd_evaluate)
