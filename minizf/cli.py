"""The ``minizf`` command: ``minizf COMMAND --help`` says what each one does."""
import argparse
import os
import sys

from . import __version__


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v.strip())


def cmd_info(args):
    from .backend import cuda_available
    from .models import MODELS
    print(f"minizf {__version__}")
    print("models: " + ", ".join(MODELS))
    print(f"devices: cpu{', cuda' if cuda_available() else ''}")
    return 0


def cmd_train(args):
    from . import data, models
    from .plot import training_curves
    from .train import TrainConfig, Trainer
    train_set = data.load_cifar10(args.data, "train")
    val_set = data.load_cifar10(args.data, "test")
    if args.subset:
        train_set = train_set.subset(range(args.subset))
    if args.val_subset:
        val_set = val_set.subset(range(args.val_subset))
    options = {"drop": list(args.drop)} if args.drop else {}
    net = models.build(args.model, **options)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, lr_steps=args.lr_steps,
                         plateau_patience=args.patience, init=args.init, seed=args.seed,
                         renorm={} if args.renorm <= 0 else {"conv1": args.renorm})
    trainer = Trainer(net, args.model, train_set, val_set, config, args.out, options,
                      progress=not args.quiet)
    try:
        status = trainer.run(resume=args.resume, max_batches=args.max_batches)
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
    p.add_argument("--renorm", type=float, default=0.1, help="RMS radius of conv1 filters (0: off)")
    p.add_argument("--drop", type=_ints, default=(), help="Table 3 ablation: layers to remove, e.g. 3,4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=0, help="train on the first N images only")
    p.add_argument("--val-subset", type=int, default=0, help="validate on the first N test images only")
    p.add_argument("--max-batches", type=int, default=None, help="pause after this many batches")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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
    return parser


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
