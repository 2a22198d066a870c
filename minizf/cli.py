"""The ``minizf`` command: ``minizf COMMAND --help`` says what each one does."""
import argparse
import os
import sys

from . import __version__


def _ints(text):
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _count(minimum):
    """An argparse type: a whole number >= minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


positive, nonnegative = _count(1), _count(0)


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
    """The training and validation sets (CIFAR-10 train/test, or Imagenette train/val with
    --dataset imagenette), cut to the first --subset / --val-subset images (0: all)."""
    from . import data
    if getattr(args, "dataset", "cifar10") == "imagenette":
        train, val = data.load_imagenette(args.data, "train"), data.load_imagenette(args.data, "val")
    else:
        train, val = data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    if args.subset:
        train = train.subset(range(min(args.subset, len(train))))
    if args.val_subset:
        val = val.subset(range(min(args.val_subset, len(val))))
    return train, val


def _crop_pad(args):
    """Random crops come from the image padded by 4 px (CIFAR-10, 32 px crops of 32 px images) or,
    for Imagenette, from the 72 px photo itself (64 px crops): --crop-pad overrides."""
    if args.crop_pad is not None:
        return args.crop_pad
    return 0 if args.dataset == "imagenette" else 4


#: Settings a resumed run takes from the command line (and says so); the others must match.
RESUME_MAY_CHANGE = {"epochs": "--epochs"}
RESUME_MUST_MATCH = {"batch_size": "--batch-size", "lr": "--lr", "seed": "--seed", "weight_decay": "--weight-decay",
                     "lr_steps": "--lr-steps", "init": "--init", "crop_pad": "--crop-pad", "renorm": "--renorm",
                     "plateau_patience": "--patience"}


def _given(args, flag):
    """Whether a flag was typed on the command line (not just left at its default)."""
    return any(a == flag or a.startswith(flag + "=") for a in args.typed)


def _check_run_folder(args, config):
    """Refuse to start over a run (unless --force), and refuse a --resume whose typed settings
    differ from the checkpoint's, before any work is done."""
    import json

    from .io import load_npz
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if not args.resume:
        if os.path.exists(checkpoint) and not args.force:
            raise ValueError(f"--out {args.out} holds a run already (checkpoint.npz): add --resume to "
                             "continue it, or --force to start a new one there (its files are replaced)")
        if args.force:
            for name in ("checkpoint.npz", "model.npz", "metrics.jsonl", "curves.png"):
                if os.path.exists(os.path.join(args.out, name)):
                    os.remove(os.path.join(args.out, name))
            folder = os.path.join(args.out, "snapshots")
            for name in os.listdir(folder) if os.path.isdir(folder) else []:
                os.remove(os.path.join(folder, name))
        return
    if not os.path.exists(checkpoint):
        raise ValueError(f"--resume: no checkpoint in {args.out}")
    meta = json.loads(load_npz(checkpoint)["meta"].tobytes().decode())
    saved = meta["config"]
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


def cmd_train(args):
    from . import models
    from .plot import training_curves
    from .train import TrainConfig, Trainer
    device = _device(args)              # a missing GPU is said before the data is read
    train_set, val_set = _cifar_slices(args)
    options = {"drop": list(args.drop)} if args.drop else {}
    net = models.build(args.model, **options)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, lr_steps=args.lr_steps,
                         plateau_patience=args.patience, init=args.init, seed=args.seed,
                         conv1_std=args.conv1_std, crop_pad=_crop_pad(args),
                         renorm={} if args.renorm <= 0 else {"conv1": args.renorm})
    _check_run_folder(args, config)
    trainer = Trainer(net, args.model, train_set, val_set, config, args.out, options,
                      progress=not args.quiet, device=device,
                      data_info={"dataset": args.dataset, "subset": args.subset})
    try:
        status = trainer.run(resume=args.resume, max_batches=args.max_batches, init_from=args.init_from)
    except KeyboardInterrupt:
        return 130
    history = trainer.state["history"]
    if history:
        print("wrote", training_curves(history, os.path.join(args.out, "curves.png")))
    print(f"{status}: {args.out}")
    return 0


def _evaluation_set(args, meta, mean, cache):
    """The images a model is scored on, labels in the model's class order: --images FOLDER (short
    side resized to the size the model was trained at, centre crop) or the CIFAR-10 test set."""
    import numpy as np

    from . import data
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

    from .plot import confusion_figure
    from .train import confusion_matrix, ensemble, predict, score
    kind = "10-crop" if args.ten_crop else "single-crop"
    cache, rows, probs, reference = {}, [], [], None
    device = _device(args)
    for path in args.checkpoint:
        net, mean, meta = _load_any_model(path)
        if mean is None:
            raise ValueError(f"{path}: the file carries no mean image, which evaluate needs")
        net.to(device)
        dataset, labels, classes = _evaluation_set(args, meta, mean, cache)
        if reference is None:
            reference = (dataset.name, labels, classes)
        elif classes != reference[2] or not np.array_equal(labels, reference[1]):
            raise ValueError(f"{path}: its classes or images differ from {args.checkpoint[0]}'s; "
                             "an ensemble needs models of the same classes")
        crop_pad = meta.get("config", {}).get("crop_pad", 4)
        p = predict(net, dataset.images, mean, ten_crop=args.ten_crop, crop_pad=crop_pad)
        probs.append(p)
        rows.append((os.path.basename(path), meta["model"], score(p, labels)))
    name, labels, classes = reference
    if len(probs) > 1:
        rows.append(("ensemble", f"average of {len(probs)} models", score(ensemble(probs), labels)))
    print(f"{name}: {len(labels)} images, {kind}")
    print(f"{'model':<28}{'':<24}{'top-1 error':>12}{'top-5 error':>12}")
    for file, model, r in rows:
        print(f"{file:<28}{model:<24}{1 - r['top1']:>12.4f}{1 - r['top5']:>12.4f}")
    best = rows[-1][2]
    print("per-class accuracy: " + ", ".join(f"{c} {a:.3f}" for c, a in zip(classes, best["per_class"])))
    counts = confusion_matrix(labels, best["probs"].argmax(axis=1), len(classes))
    out = args.out or "."
    out = out if out.endswith(".png") else os.path.join(out, "confusion.png")
    written = [confusion_figure(counts, classes, out, title=f"{rows[-1][1]}: top-1 accuracy "
                                f"{best['top1']:.3f} ({kind})")]
    if args.json:
        table = {"dataset": name, "images": int(len(labels)), "crops": kind, "classes": classes,
                 "models": [{"file": f, "model": m, "top1": r["top1"], "top5": r["top5"], "loss": r["loss"],
                             "per_class": [None if np.isnan(a) else float(a) for a in r["per_class"]]}
                            for f, m, r in rows]}
        _write_json(args.json, table)
        written.append(args.json)
    return _done(written)


def _write_json(path, table):
    """Write a results table as JSON (to a temp file, then renamed)."""
    import json

    from .io import save_text_atomic
    save_text_atomic(path, json.dumps(table, indent=1))


def _device(args):
    """--device, else $MINIZF_DEVICE, else cpu; a missing GPU is the user's error, said in one line."""
    from .backend import get_device
    try:
        return get_device(getattr(args, "device", None))
    except RuntimeError as err:
        raise ValueError(f"--device: {err}") from None


def _load_any_model(path):
    """(net, mean or None, meta) of a minizf .npz or an .onnx file."""
    if str(path).lower().endswith(".onnx"):
        from .interop.onnx import load_onnx
        return load_onnx(path)
    from .modelfile import load_model
    return load_model(path)


def _model(args):
    """(net, mean, meta) of --model (.npz or .onnx), else the tour's default bundled model, on --device.

    --input-size and --mean supply what a foreign model file does not carry."""
    import numpy as np

    from .tour import default_model
    net, mean, meta = _load_any_model(args.model) if args.model else default_model()
    size = getattr(args, "input_size", None)
    if size:
        channels = net.input_shape[0] if net.input_shape else 3
        net.input_shape = (channels, size, size)
    if net.input_shape is None:
        raise ValueError(f"--model {args.model}: the file does not give its input size; add --input-size N")
    if getattr(args, "mean", None):
        values = np.asarray(args.mean, dtype=np.float32)
        if values.shape != (net.input_shape[0],):
            raise ValueError(f"--mean: expected {net.input_shape[0]} values (one per channel), got {len(values)}")
        mean = np.broadcast_to(values[:, None, None], net.input_shape).copy()
    if mean is None:
        raise ValueError(f"--model {args.model}: the file carries no mean image; give --mean R,G,B (per channel, "
                         "on the [0, 1] pixel scale, e.g. 0.485,0.456,0.406 for ImageNet)")
    return net.to(_device(args)), mean, meta


def _floats(text):
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def cmd_export(args):
    """A model file in the other format: .npz -> .onnx, or .onnx -> .npz."""
    net, mean, meta = _load_any_model(args.model)
    target = args.out.lower()
    if target.endswith(".onnx"):
        from .interop.onnx import save_onnx
        if net.input_shape is None and not args.input_size:
            raise ValueError(f"{args.model}: the network does not know its input size; add --input-size N")
        shape = (net.input_shape[0] if net.input_shape else 3, args.input_size, args.input_size) \
            if args.input_size else None
        save_onnx(net, args.out, mean, meta, input_shape=shape)
    elif target.endswith(".npz"):
        from .modelfile import save_model
        if mean is None:
            raise ValueError(f"{args.model}: carries no mean image; minizf model files need one")
        save_model(args.out, net, mean, dict(meta, model=meta.get("model", "imported")))
    else:
        raise ValueError(f"{args.out}: give a file ending in .onnx or .npz")
    return _done(args.out)


def _done(paths):
    for path in paths if isinstance(paths, list) else [paths]:
        print("wrote", path)
    return 0


def _report(paths, caption, verdict):
    """Print a figure's caption and its verdict against the paper, then the files written."""
    print(caption)
    if verdict is not None:
        print(verdict)
    return _done(paths)


def cmd_tour(args):
    from .tour import tour
    index = tour(args.out, args.model, args.twin, n_images=args.images, maps=args.maps,
                 progress=not args.quiet, device=_device(args))
    print(f"wrote {index} (open it in a browser)")
    return 0


def cmd_topk(args):
    from .tour import chance_purity, figure_top9, images_for
    net, mean, _ = _model(args)
    if args.images:
        from .data import load_image_folder
        images = load_image_folder(args.images, size=net.input_shape[-1])
    else:
        images = images_for(net)
    path, caption, purity = figure_top9(net, mean, images, args.layer, args.maps, args.out, args.seed)
    print(caption)
    print(f"class purity of the top-9 (share in the most common class): {purity:.2f}; "
          f"random images: {chance_purity(images.labels):.2f}")
    return _done(path)


def cmd_explore(args):
    from .explorer import explore
    from .tour import images_for
    net, mean, meta = _model(args)
    if args.images and not args.images.isdigit():
        from .data import load_image_folder
        images = load_image_folder(args.images, size=net.input_shape[-1])
    else:
        images = images_for(net)
        count = int(args.images or 500)
        images.images, images.labels = images.images[:count], images.labels[:count]
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
    index = explore(net, mean, images, args.out, layers, device=_device(args),
                    progress=None if args.quiet else progress,
                    title=f"minizf unit explorer: {meta.get('model', args.model or 'bundled model')}")
    print(f"wrote {index} (open it in a browser)")
    return 0


def _occlusion_image(args, net, classes):
    """(uint8 image, label or None) for `minizf occlude IMAGE`: a bundled CIFAR-10 test index, a
    bundled photo ("class/file.jpg"), or an image file."""
    import numpy as np

    from .data import load_image
    from .tour import images_for
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

    from . import analysis, plot
    from .tour import occlusion_setting, predict_class
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
    size, stride = occlusion_setting(image.shape[-1])
    result = analysis.occlusion(net, image, label, mean, args.layer, args.size or size, args.stride or stride)
    name = os.path.splitext(os.path.basename(args.image))[0]
    path = plot.occlusion_figure(image.astype(np.float32) / 255, result, classes, label,
                                 os.path.join(args.out, f"occlusion_{name}.png"), guess=guess)
    print(analysis.occlusion_verdict([result], [classes[label]]))
    return _done(path)


def cmd_invariance(args):
    from .tour import figure_invariance, images_for
    net, mean, _ = _model(args)
    return _report(*figure_invariance(net, mean, images_for(net), args.out))


def cmd_evolution(args):
    from .tour import figure_evolution, images_for
    net, mean, meta = _model(args)
    images = images_for(net)
    return _report(*figure_evolution(net, mean, meta, images, args.out, n_images=min(200, len(images)),
                                     model_path=args.model))


def cmd_correspondence(args):
    from .tour import figure_correspondence, images_for
    net, mean, _ = _model(args)
    path, caption, verdict, result = figure_correspondence(net, mean, images_for(net), args.out)
    layers = list(result.random)
    print(f"{'occluded part':<16}" + "".join(f"Delta {layer:<12}" for layer in layers))
    for part, d in result.parts.items():
        print(f"{part:<16}" + "".join(f"{d[layer]:<18.3f}" for layer in layers))
    print(f"{'random':<16}" + "".join(f"{m:.3f} +- {sd:.3f}{'':<6}" for m, sd in result.random.values()))
    return _report(path, caption, verdict)


def cmd_filters(args):
    from .tour import figure_filters, images_for, with_twin
    net, mean, meta = _model(args)
    return _report(*figure_filters(with_twin(net, mean, args.twin, meta), args.out, images_for(net)))


def _pretraining_sets(args, net, mean):
    """The classes a model was trained on, as (train, test) sets it can see: CIFAR-10 train/test
    for a 32 px model, Imagenette train/val (centre 64 px) for a 64 px one."""
    import numpy as np

    from . import data
    if net.input_shape[-1] == 32:
        return data.load_cifar10(args.data, "train"), data.load_cifar10(args.data, "test")
    size = net.input_shape[-1]
    sets = []
    for split in ("train", "val"):
        ds = data.load_imagenette(args.data, split, crop=size)
        sets.append(ds.subset(np.random.default_rng(0).permutation(len(ds)), ds.name))   # sorted by class: shuffle
    return tuple(sets)


def cmd_features(args):
    from . import analysis, plot
    net, mean, meta = _model(args)
    layers = args.layers.split(",")
    for layer in layers:
        net.index(layer)
    if args.json:
        _check_writable(args.json)
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
    import json

    from . import analysis, plot
    from .train import TrainConfig
    train, val = _cifar_slices(args)
    keys = args.variants.split(",") if args.variants else None
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
    with open(os.path.join(args.out, "ablation.json"), "w") as f:
        json.dump({"model": args.model, "train_images": len(train), "val_images": len(val),
                   "epochs": args.epochs, "rows": rows}, f, indent=1)
    return _done([os.path.join(args.out, "ablation.json"),
                  plot.bars([r.key for r in results], [[r.train_error for r in results],
                                                       [r.val_error for r in results]],
                            os.path.join(args.out, "ablation.png"), ylabel="top-1 error",
                            title=f"Table 3: ablations of {args.model}", labels=["train", "validation"])])


def _layer_number(layer):
    digits = "".join(ch for ch in layer if ch.isdigit())
    return int(digits) if digits else None


def _transfer_images(args, net, mean, meta):
    """The images of `minizf transfer`: --images, else Caltech-101 under --data for a photo model,
    else the CIFAR-10 test set for a 32 px one; seen as the model was trained."""
    from . import data
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

    from . import analysis, plot
    from .analysis.features import CLASSIFIERS
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
        _check_writable(args.json)
    dataset = _transfer_images(args, net, mean, meta)
    scratch = (f", against the same network trained from scratch for {args.scratch_epochs} epochs "
               "(SGD 0.01, momentum 0.9, batch up to 128, crops and flips; one run on "
               f"{'each fold' if not args.scratch_folds else f'the first {args.scratch_folds} folds'})"
               if args.scratch_epochs else "")
    print(f"transfer: {'/'.join(classifiers)} on frozen {', '.join(layers)} of {meta['model']}{scratch}; "
          f"{dataset.name}: {len(dataset.classes)} classes, {len(dataset)} images, {args.folds} folds, "
          f"up to {args.test_per_class} test images per class")
    results = analysis.transfer(net, mean, dataset, list(args.per_class), args.test_per_class, args.folds,
                                layers=layers, classifiers=classifiers, scratch_epochs=args.scratch_epochs,
                                model_name=meta["model"], model_options=meta.get("model_options", {}),
                                seed=args.seed, progress=not args.quiet, scratch_folds=args.scratch_folds)
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
        _write_json(path, table)
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

    from .analysis import PAPER_TABLE4, PAPER_TABLE7
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


def _check_writable(path):
    """Fail before the work, not after it, when an output file cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--json {path}: is a folder, expected a file name")
    if os.path.exists(folder) and not os.access(folder, os.W_OK):
        raise ValueError(f"--json {path}: cannot write in {folder}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minizf", description="Zeiler & Fergus's deconvnet and experiments, from scratch.")
    parser.add_argument("--version", action="version", version=f"minizf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the models and the devices").set_defaults(run=cmd_info)

    p = sub.add_parser("train", help="train a model on CIFAR-10 as in Sec. 3 of the paper",
                       description="Train on CIFAR-10 (official python-version files) with SGD, "
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
                   "(its checkpoint, model, metrics and snapshots are replaced)")
    p.add_argument("--batch-size", type=positive, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10, e.g. 20,26")
    p.add_argument("--patience", type=nonnegative, default=0, help="also anneal after N epochs without val improvement")
    p.add_argument("--init", choices=("he", "paper"), default="he")
    p.add_argument("--init-from", default=None, help="start from the weights of a model file")
    p.add_argument("--conv1-std", type=float, default=None, help="separate init std for conv1, e.g. 0.01")
    p.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    p.add_argument("--drop", type=_ints, default=(), help="Table 3 ablation: layers to remove, e.g. 3,4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=nonnegative, default=0, help="train on the first N images only")
    p.add_argument("--val-subset", type=nonnegative, default=0, help="validate on the first N test images only")
    p.add_argument("--max-batches", type=positive, default=None, help="pause after this many batches")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
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
    p.set_defaults(run=cmd_evaluate)

    def figure_command(name, help_text, run, out="figures"):
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--model", default=None, help="model file (default: the bundled data/zf64.npz, "
                       "else data/zf_small.npz)")
        q.add_argument("--out", default=out, help=f"output folder (default {out})")
        q.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
        q.add_argument("--input-size", type=positive, default=None, help="side of the square input, for a "
                       "model file that does not say it (an .onnx from elsewhere)")
        q.add_argument("--mean", type=_floats, default=None, help="per-channel mean R,G,B on the [0, 1] "
                       "pixel scale, subtracted from every image, for a model file without a mean image")
        q.set_defaults(run=run)
        return q

    q = figure_command("tour", "all figures of Sec. 4 (Figs. 2, 4, 5, 6, 7, Table 1) from the bundled "
                       "model and images, with an index.html", cmd_tour, out="tour")
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file for Fig. 6")
    q.add_argument("--images", type=positive, default=500, help="test images to scan for top-9 (default 500)")
    q.add_argument("--maps", type=positive, default=6, help="feature maps per layer in the top-9 figures")
    q.add_argument("--quiet", action="store_true")
    q = figure_command("topk", "Fig. 2: the 9 strongest activations of random feature maps over the "
                       "bundled test images, projected by the deconvnet beside their image patches", cmd_topk)
    q.add_argument("--layer", default="conv5", help="any layer of the model (default conv5): conv1-conv5, "
                   "relu1-relu7, pool1, pool2, pool5, norm1, norm2; a model from elsewhere has its own names")
    q.add_argument("--images", default=None, help="an image folder (one sub-folder per class, or images "
                   "directly) to scan instead of the bundled images")
    q.add_argument("--maps", type=positive, default=8)
    q.add_argument("--seed", type=int, default=0)
    q = figure_command("explore", "a website of every unit of the chosen layers: each unit's top-9 "
                       "images projected by the deconvnet beside their patches, their classes and the "
                       "unit's histogram; static files, open OUT/index.html in a browser", cmd_explore,
                       out="explore")
    q.add_argument("--images", default=None, help="how many bundled images to scan (default 500), or an "
                   "image folder")
    q.add_argument("--layers", default=None, help="comma-separated layers with feature maps (default: "
                   "every conv layer)")
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q = figure_command("occlude", "Fig. 7: slide a grey square over IMAGE (a file, or the index of a "
                       "bundled CIFAR-10 test image) and map the strongest layer-5 feature, the "
                       "probability of the class and the most probable class", cmd_occlude)
    q.add_argument("image")
    q.add_argument("--label", default=None, help="true class name (default: the bundled label, or the "
                   "network's prediction for an image file)")
    q.add_argument("--layer", default="relu5")
    q.add_argument("--size", type=positive, default=None, help="side of the square in pixels (default 8 for "
                   "32 px images, 12 for 64 px)")
    q.add_argument("--stride", type=positive, default=None, help="step between positions (default 2 for 32 px, 4 for 64 px)")
    figure_command("invariance", "Fig. 5: feature distances at layers 1 and 7 and the true-class "
                   "probability as images are translated, scaled and rotated", cmd_invariance)
    figure_command("evolution", "Fig. 4: projections of the strongest activations at each training "
                   "snapshot, showing how features settle during training", cmd_evolution)
    figure_command("correspondence", "Table 1 (Sec. 4.3): occlude the same part (eyes, nose) of 5 cat "
                   "faces and measure how consistently layers 5 and 7 change (Delta)", cmd_correspondence)
    q = figure_command("filters", "Fig. 6 / Sec. 4.1: first-layer filters of the ZF and Krizhevsky-style "
                       "models with dead-filter counts and frequency coverage", cmd_filters)
    q.add_argument("--twin", default=None, help="Krizhevsky-style model file (default: the bundled one)")
    q = figure_command("features", "Table 7 (Sec. 5): train a softmax or linear SVM on the frozen features "
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
    q.add_argument("--lr", type=float, default=0.01)
    q.add_argument("--lr-steps", type=_ints, default=(), help="epochs after which lr /= 10")
    q.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", default="runs/ablation")
    q.add_argument("--quiet", action="store_true")
    q.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    q.set_defaults(run=cmd_ablation)

    q = figure_command("transfer", "Tables 4-5, 7 and Fig. 9 (Sec. 5.2): a softmax or linear SVM on the "
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
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", default=None, help="also write the table (fold means and stds) to this file")
    q.add_argument("--quiet", action="store_true", help="no progress bar")

    q = sub.add_parser("export", help="write a model in the other format: MODEL.npz to OUT.onnx (any ONNX "
                       "runtime), or an .onnx to a minizf .npz", description="Convert a model file. ONNX "
                       "graphs are read when they are chains of Conv, Relu, MaxPool, LRN, Gemm/MatMul+Add, "
                       "Flatten/Reshape, Dropout (see minizf.interop.onnx).")
    q.add_argument("model")
    q.add_argument("out")
    q.add_argument("--input-size", type=positive, default=None, help="side of the square input, when the "
                   "model file does not say it")
    q.set_defaults(run=cmd_export)

    from .course.commands import add_commands
    add_commands(sub)
    return parser


def _ablation_variants():
    from .analysis.ablation import VARIANTS
    return VARIANTS


def _check_out(args):
    """Make --out before any work, so a command never computes for minutes and then fails to write:
    a folder, or for evaluate a .png path."""
    out = getattr(args, "out", None)
    if not out:
        return
    is_file = out.lower().endswith((".png", ".onnx", ".npz"))     # evaluate's figure, export's model
    folder = os.path.dirname(out) or "." if is_file else out
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"--out {out}: {folder} is a file, not a folder")
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--out {out}: cannot write in {folder}")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.typed = list(sys.argv[1:] if argv is None else argv)     # what the user wrote, not the defaults
    if args.command is None:
        cmd_info(args)
        parser.print_help()
        return 0
    try:
        _check_out(args)
        return args.run(args)
    except KeyboardInterrupt:
        print(f"minizf {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError) as err:
        # What a user can cause: bad arguments, unknown layers, unreadable or unwritable files,
        # a full disk. One line naming the culprit, no traceback (--debug shows it).
        if getattr(args, "debug", False):
            raise
        text = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"minizf {args.command}: error: {text}", file=sys.stderr)
        return 2
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"minizf {args.command}: an internal error, not a mistake of yours: please report it, with "
              "the command you ran and the lines above", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
