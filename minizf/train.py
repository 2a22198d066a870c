"""Training as in Sec. 3: SGD with momentum, annealing, filter RMS renormalization, checkpoints.

Reproducibility: every random stream is derived from (seed, epoch): the
shuffling order, the crop/flip generator and each dropout layer's generator
are re-made at the start of each epoch, and their states are saved with
mid-epoch checkpoints. So a run that is interrupted and resumed ends with
weights bit-identical to an uninterrupted one.
"""
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .backend import device_of_net, get_array_module, to_device, to_numpy
from .data import centre_crop, normalize, random_crops, ten_crops
from .functional import log_softmax, sgd_momentum
from .distributed import shard_bounds
from .io import load_npz, save_npz_atomic, save_text_atomic
from .modelfile import load_model, save_model  # noqa: F401  (also importable from here, as before)
from .layers import BatchNorm2D, Conv2D, Dropout, Linear, SoftmaxCrossEntropy

DEFAULT_SNAPSHOTS = (1, 2, 5, 10, 20, 30, 40, 50, 64, 70)
PAPER_SNAPSHOTS = (1, 2, 5, 10, 20, 30, 40, 64)         # Fig. 4's epochs, of a 70-epoch run
PAPER_EPOCHS = 70


def paper_snapshots(epochs):
    """Fig. 4's snapshot epochs scaled to a run of ``epochs``: (1, 2, 5, ..., 64) for 70, and the
    last epoch; halves round up, and epochs that round together are kept once:
    45 -> (1, 3, 6, 13, 19, 26, 41, 45)."""
    scaled = {max(1, math.floor(e * epochs / PAPER_EPOCHS + 0.5)) for e in PAPER_SNAPSHOTS}
    return tuple(sorted(e for e in scaled | {epochs} if e <= epochs))


class Diverged(FloatingPointError, ValueError):
    """The training loss became NaN or infinite (a ValueError too, so the command line reports it
    in one line: a diverging run is the user's learning rate, not a bug)."""


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults are the paper's (Sec. 3) where it gives them."""
    epochs: int = 30
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4           # on weights, not biases (the paper gives none; Krizhevsky's)
    lr_steps: tuple = ()                 # epochs after which lr is divided by anneal_factor
    plateau_patience: int = 0            # > 0: also anneal when val error stalls that many epochs
    anneal_factor: float = 10.0
    renorm: dict = field(default_factory=lambda: {"conv1": 0.1})   # layer -> RMS radius
    init: str = "he"                     # "paper": N(0, 0.01^2); "he": N(0, 2/fan_in)
    conv1_std: float = None              # if set, conv1 starts as N(0, conv1_std^2) whatever init says
    crop_pad: int = 4                    # random crops of the input size from a padded image
    flip: bool = True
    seed: int = 0
    snapshots: tuple = DEFAULT_SNAPSHOTS
    dtype: str = "float32"               # "float64": slower; runs then agree beyond float32's rounding

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        for key in ("lr_steps", "snapshots"):
            d[key] = tuple(d.get(key, ()))
        return cls(**d)


# ----------------------------------------------------------------------------- weights
def init_weights(net, scheme, seed=0, conv1_std=None):
    """Re-draw every weight: "paper" N(0, 0.01^2) (Sec. 3) or "he" N(0, 2 / fan_in); biases 0.

    conv1_std: a separate std for the first layer (small first-layer weights
    leave its filters to be shaped by the data rather than by the noise they start from).
    """
    if scheme not in ("paper", "he"):
        raise ValueError(f"init must be 'paper' or 'he', got {scheme!r}")
    rng = np.random.default_rng(seed)
    for _, layer in net:
        if isinstance(layer, (Conv2D, Linear)):
            W = layer.params["W"]
            fan_in = int(np.prod(W.shape[1:]))
            std = 0.01 if scheme == "paper" else math.sqrt(2.0 / fan_in)
            if conv1_std is not None and layer is net.named_layers()[0][1]:
                std = conv1_std
            xp = get_array_module(W)
            layer.params["W"] = xp.asarray(rng.normal(0.0, std, W.shape).astype(W.dtype))
            layer.params["b"] = xp.zeros_like(layer.params["b"])


def initial_weights(meta, layer):
    """The weights ``layer`` started from in the run a model file's ``meta`` records (its model,
    options, init scheme and seed), or None when the file does not say (not trained by minizf,
    or started from another model's weights)."""
    from .models import MODELS, build
    config = meta.get("config") or {}
    started_elsewhere = (meta.get("data") or {}).get("init_from")
    if meta.get("model") not in MODELS or "init" not in config or "seed" not in config or started_elsewhere:
        return None
    try:
        net = build(meta["model"], **(meta.get("model_options") or {}))
        init_weights(net, config["init"], config["seed"], config.get("conv1_std"))
    except (TypeError, ValueError):
        return None
    return net[layer].params["W"] if layer in net.names else None


def untrained_copy(net, meta=None, seed=0):
    """The same architecture with fresh weights: its conv and fully connected layers re-drawn by the
    scheme the model was trained from (``meta``'s, else "he"), batch norms reset to the identity.
    What the architecture alone gives before any learning: the baseline a trained model must beat."""
    import copy
    config = (meta or {}).get("config") or {}
    fresh = copy.deepcopy(net)
    init_weights(fresh, config.get("init", "he") if config.get("init") in ("paper", "he") else "he", seed,
                 config.get("conv1_std"))
    for _, layer in fresh:
        if isinstance(layer, BatchNorm2D):
            xp = get_array_module(layer.params["gamma"])
            layer.params = {"gamma": xp.ones_like(layer.params["gamma"]), "beta": xp.zeros_like(layer.params["beta"])}
            layer.buffers = {"running_mean": xp.zeros_like(layer.buffers["running_mean"]),
                             "running_var": xp.ones_like(layer.buffers["running_var"])}
    return fresh


def filter_rms(W):
    """RMS of each filter: W (F, C, kh, kw) -> (F,)."""
    xp = get_array_module(W)
    return xp.sqrt((W.reshape(W.shape[0], -1) ** 2).mean(axis=1))


def renormalize_filters(net, radii):
    """Sec. 3: rescale every conv filter whose RMS exceeds its layer's radius back to the radius.

    radii: {layer name: radius}. Returns {layer name: number of filters rescaled}.
    """
    counts = {}
    for name, radius in radii.items():
        W = net[name].params["W"]
        rms = filter_rms(W)
        scale = get_array_module(W).minimum(1.0, radius / rms).astype(W.dtype)
        counts[name] = int((rms > radius).sum())
        W *= scale.reshape(-1, *([1] * (W.ndim - 1)))
    return counts


class SGD:
    """SGD with momentum: v = mu v - lr (g + wd W); W += v. Weight decay only on "W" arrays."""

    def __init__(self, momentum=0.9, weight_decay=0.0):
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = {}

    def step(self, net, lr):
        for name, p, g in net.named_parameters():
            if g is None:
                continue
            v = self.velocity.get(name)
            if v is None:
                v = get_array_module(p).zeros_like(p)
            decay = self.weight_decay if name.endswith(".W") else 0.0     # never on biases
            p[...], self.velocity[name] = sgd_momentum(p, g, v, lr, self.momentum, decay)


# ----------------------------------------------------------------------------- evaluation
def input_size(net, images):
    """The side of the square images a network takes (its input_shape), else the images' own."""
    return net.input_shape[-1] if net.input_shape else images.shape[-1]


def predict(net, images, mean, batch_size=125, ten_crop=False, crop_pad=4, device=None):
    """Class probabilities of uint8 images (N, 3, H, W) -> (N, C).

    Images larger than the network's input are centre-cropped; ten_crop
    averages the 10 crops of Sec. 3 (corners and centre of the image padded by
    crop_pad, and their mirrors).
    """
    device = device_of_net(net, device)
    probs = []
    size = input_size(net, images)
    for start in range(0, len(images), batch_size):
        x = normalize(images[start:start + batch_size], mean).astype(net.dtype, copy=False)   # float64 nets: float64
        views = ten_crops(x, size, crop_pad) if ten_crop else centre_crop(x, (size, size))[None]
        p = 0.0
        for view in views:
            scores = net.forward(to_device(np.ascontiguousarray(view), device))
            p = p + np.exp(to_numpy(log_softmax(scores)))
        if not np.isfinite(p).all():               # overflowing weights: every image would go to class 0
            raise ValueError("the network's outputs are not finite (NaN or infinite) on these images: its "
                             "weights are too large (a diverged run?)")
        probs.append(p / len(views))
    return np.concatenate(probs)


def evaluate(net, dataset, mean, batch_size=125, ten_crop=False, crop_pad=4, device=None):
    """Loss, top-1 and top-5 accuracy, per-class accuracy and the probabilities on a dataset."""
    probs = predict(net, dataset.images, mean, batch_size, ten_crop, crop_pad, device)
    return score(probs, dataset.labels)


def score(probs, labels):
    """Probabilities (N, C) against labels (N,): loss, top1, top5, per_class (C,) accuracy, probs.

    per_class[c] is the accuracy on the images of class c (NaN for a class with
    none); their mean is the "mean class accuracy" of Caltech-101's protocol.
    """
    n, classes = probs.shape
    loss = float(-np.log(np.maximum(probs[np.arange(n), labels], 1e-30)).mean())
    top5 = np.argsort(-probs, axis=1)[:, :5]
    hit = top5[:, 0] == labels
    counts = np.bincount(labels, minlength=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.bincount(labels, weights=hit, minlength=classes) / counts
    return {"loss": loss, "top1": float(hit.mean()),
            "top5": float((top5 == labels[:, None]).any(axis=1).mean()), "per_class": per_class,
            "probs": probs}


def ensemble(probs):
    """Table 2's ensemble: the average of several models' class probabilities, [(N, C)] -> (N, C)."""
    probs = [np.asarray(p) for p in probs]
    if not probs or any(p.shape != probs[0].shape for p in probs):
        raise ValueError(f"ensemble: expected probabilities of one shape, got {[p.shape for p in probs]}")
    return sum(probs) / len(probs)


def confusion_matrix(labels, predictions, num_classes):
    """counts[i, j] = images of class i predicted as j."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


# ----------------------------------------------------------------------------- model files
# ----------------------------------------------------------------------------- the loop
def _stream_seed(*keys):
    """A 63-bit seed derived from keys: one independent stream per (seed, epoch, purpose)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(2, np.uint64)[0] >> np.uint64(1))


class Trainer:
    """Trains a network on uint8 datasets, with checkpoints in ``out_dir``.

    Files: checkpoint.npz (everything needed to resume), snapshots/epoch_NNN.npz
    (weights at the chosen epochs), model.npz (final), metrics.jsonl (one line
    per epoch), curves.png (training curves; drawn by the CLI).
    """

    def __init__(self, net, model_name, train_set, val_set=None, config=None, out_dir="runs/run",
                 model_options=None, progress=True, log=print, device="cpu", data_info=None, comm=None):
        from .distributed import Single
        self.comm = comm or Single()                # data-parallel over MPI ranks, or one process
        self.writer = self.comm.rank == 0           # only rank 0 writes files and prints
        progress = progress and self.writer
        log = log if self.writer else (lambda *a, **k: None)
        self.net, self.model_name = net, model_name
        self.model_options = dict(model_options or {})
        self.data_info = dict(data_info or {})      # where the images came from (dataset, subset), for the record
        self.train_set, self.val_set = train_set, val_set
        self.config = config or TrainConfig()
        if self.config.dtype != "float32":          # a float64 net given with the default config stays float64
            net.astype(self.config.dtype)
        self.out_dir = str(out_dir)
        self.progress, self.log = progress, log
        self.device = device        # batches are made on the CPU and moved there
        self.ce = SoftmaxCrossEntropy()
        self.sgd = SGD(self.config.momentum, self.config.weight_decay)
        self.dropouts = [layer for _, layer in net if isinstance(layer, Dropout)]
        self.mean = None
        self.on_checkpoint = None   # called after every checkpoint is saved (the CLI clears an old run then)
        self.state = {"epoch": 0, "batch": 0, "lr": self.config.lr, "best_val_error": None,
                      "epochs_since_best": 0, "history": [], "running": None, "rng": None}

    # ---- files
    def path(self, *parts):
        return os.path.join(self.out_dir, *parts)

    def meta(self):
        return {"model": self.model_name, "model_options": self.model_options, "data": self.data_info,
                "config": asdict(self.config), "epoch": self.state["epoch"],
                "history": self.state["history"], "classes": self.train_set.classes}

    def save_checkpoint(self):
        if not self.writer:                         # every rank holds the same weights: rank 0 writes
            return
        arrays = {f"param/{k}": v for k, v in self.net.state_dict().items()}
        arrays.update({f"velocity/{k}": to_numpy(v) for k, v in self.sgd.velocity.items()})
        arrays["mean"] = self.mean
        arrays["meta"] = np.frombuffer(json.dumps(self.meta()).encode(), dtype=np.uint8)
        arrays["state"] = np.frombuffer(json.dumps(self.state).encode(), dtype=np.uint8)
        save_npz_atomic(self.path("checkpoint.npz"), arrays)
        if self.on_checkpoint:
            self.on_checkpoint()

    def load_checkpoint(self):
        path = self.path("checkpoint.npz")
        arrays = load_npz(path)
        if "state" not in arrays:
            raise ValueError(f"{path}: not a training checkpoint (no 'state' entry)")
        meta = json.loads(arrays["meta"].tobytes().decode())
        if meta["model"] != self.model_name:
            raise ValueError(f"{path}: checkpoint of model {meta['model']!r}, not {self.model_name!r}")
        if meta["config"].get("dtype", "float32") != "float32":
            self.net.astype(meta["config"]["dtype"])        # a float64 run goes on in float64
        self.net.load_state_dict({k[6:]: arrays[k] for k in arrays if k.startswith("param/")}, path)
        xp = get_array_module(next(iter(self.net.named_parameters()))[1])
        self.sgd.velocity = {k[9:]: xp.asarray(arrays[k]) for k in arrays if k.startswith("velocity/")}
        self.mean = arrays["mean"]
        epochs = self.config.epochs
        self.config = TrainConfig.from_dict(meta["config"])
        self.config.epochs = epochs                # resuming may extend the run
        if (meta.get("data") or {}).get("init_from"):     # the run's first weights stay on record
            self.data_info["init_from"] = meta["data"]["init_from"]
        self.state = json.loads(arrays["state"].tobytes().decode())

    def write_metrics(self):
        if not self.writer:
            return
        save_text_atomic(self.path("metrics.jsonl"),
                         "".join(json.dumps(row) + "\n" for row in self.state["history"]))

    def _divergence(self, loss, batch):
        """The message for a loss that became NaN or infinite: where, and what is left to resume."""
        where = f"epoch {self.state['epoch'] + 1}, batch {batch if batch is not None else self.state['batch']}"
        last = self.path("checkpoint.npz")
        if os.path.exists(last):
            st = json.loads(load_npz(last)["state"].tobytes().decode())
            good = f"the last good checkpoint is {last} (epoch {st['epoch']}" + \
                (f", batch {st['batch']})" if st["batch"] else " done)")
        else:
            good = "no checkpoint was saved yet"
        return (f"training diverged: the loss became {loss} at {where}; stopped without saving, "
                f"{good}. Try a smaller --lr")

    # ---- one epoch
    def _start_epoch(self, epoch):
        """Fresh random streams for this epoch, or the saved ones when resuming mid-epoch.

        (Dropout masks on a GPU come from CuPy's generator, whose state is not
        saved: there a mid-epoch resume is exact up to those masks.)
        """
        seed = self.config.seed
        aug = np.random.default_rng(_stream_seed(seed, epoch, 1))
        for i, layer in enumerate(self.dropouts):
            layer.reseed(_stream_seed(seed, epoch, 2, i))
        running = {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        if self.state["batch"] and self.state["rng"]:
            aug.bit_generator.state = self.state["rng"]["aug"]
            for layer, st in zip(self.dropouts, self.state["rng"]["dropout"]):
                layer.rng("cpu").bit_generator.state = st
            running = self.state["running"]
        order = np.random.default_rng(_stream_seed(seed, epoch, 0)).permutation(len(self.train_set))
        return order, aug, running

    def _remember_position(self, batch, aug, running):
        self.state["batch"] = batch
        self.state["running"] = dict(running)
        self.state["rng"] = {"aug": aug.bit_generator.state,
                             "dropout": [layer.rng("cpu").bit_generator.state for layer in self.dropouts]}

    def _train_step(self, images, labels, aug, batch=None):
        """One SGD step on a batch; with several ranks each takes its shard of the batch (the same
        crops and dropout masks one process would draw) and one allreduce sums the gradients."""
        cfg, comm = self.config, self.comm
        x = random_crops(normalize(images, self.mean), input_size(self.net, images), cfg.crop_pad, aug, cfg.flip)
        lo, hi = shard_bounds(len(x), comm.rank, comm.size)
        if comm.size > 1:
            for layer in self.dropouts:
                layer.shard = (lo, hi, len(x))
        try:
            loss, correct = self._shard_gradients(x[lo:hi], labels[lo:hi], len(x))
        finally:
            for layer in self.dropouts:
                layer.shard = None
        if comm.size > 1:                           # the shares of every rank: the whole batch's gradient
            comm.allreduce_sum([g for _, _, g in self.net.named_parameters()])
            loss, correct = comm.sum(loss), comm.sum(correct)
        if not math.isfinite(loss):
            raise Diverged(self._divergence(loss, batch))
        self.sgd.step(self.net, self.state["lr"])
        if cfg.renorm:
            renormalize_filters(self.net, cfg.renorm)
        return loss, correct

    def _shard_gradients(self, x, labels, batch):
        """Gradients of this shard's share of the batch's mean loss: (share of the loss, correct)."""
        if len(x) == 0:                             # fewer images than ranks: nothing here, but the
            for layer in self.dropouts:             # masks are drawn as the others draw them
                shape = dict(self.net.output_shapes(self.net.input_shape))[layer.name]
                layer.draw_mask((batch,) + tuple(shape), device=self.device)
            for _, layer in self.net:
                layer.grads = {k: p * 0 for k, p in layer.params.items()}
            return 0.0, 0
        share = len(x) / batch
        x, labels_d = to_device(x.astype(self.net.dtype, copy=False), self.device), to_device(labels, self.device)
        loss = self.ce.forward(self.net.forward(x, train=True), labels_d)
        self.net.backward(self.ce.backward(share), input_grad=False)
        correct = int((to_numpy(self.ce.probs).argmax(axis=1) == labels).sum())
        return loss * share, correct

    def run(self, resume=False, max_batches=None, init_from=None):
        """Train to ``config.epochs``. Returns "done", or "paused" after ``max_batches`` batches.

        init_from: a model file to start from (its weights and mean image) instead
        of a fresh initialisation, e.g. to continue from a bundled model when the
        checkpoint is gone. Ctrl-C (or SIGTERM) saves a checkpoint after the batch in progress
        and re-raises KeyboardInterrupt.
        """
        import signal

        from tqdm import tqdm
        if self.writer:
            os.makedirs(self.path("snapshots"), exist_ok=True)
        if resume:
            self.load_checkpoint()
            self.log(f"resuming {self.path('checkpoint.npz')} at epoch {self.state['epoch'] + 1}, "
                     f"batch {self.state['batch']}")
            done = self.state["epoch"]
            if done and not self.state["batch"] and not os.path.exists(
                    self.path("snapshots", f"epoch_{done:03d}.npz")):
                self._write_snapshot(done)      # the weights are still exactly those of its end
        elif init_from:
            net, self.mean, _ = load_model(init_from)
            self.net.load_state_dict(net.state_dict(), str(init_from))
            self.log(f"starting from the weights of {init_from}")
            self.data_info["init_from"] = str(init_from)
        else:
            from .data import mean_image
            init_weights(self.net, self.config.init, self.config.seed, self.config.conv1_std)
            self.mean = mean_image(self.train_set)
        self.net.to(self.device)
        self.sgd.velocity = {k: to_device(v, self.device) for k, v in self.sgd.velocity.items()}
        stop = {"asked": False}
        old_handlers = {}
        def asked(sig, _frame):     # the first signal stops after this batch; a second acts at once
            stop.update(asked=True)
            signal.signal(sig, old_handlers.get(sig, signal.SIG_DFL))
        try:                        # Ctrl-C, and SIGTERM (what `timeout` and schedulers send), alike
            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, asked)
        except ValueError:          # not the main thread: no signal handling
            pass
        try:
            return self._loop(stop, max_batches, tqdm)
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)

    def _loop(self, stop, max_batches, tqdm):
        cfg, n = self.config, len(self.train_set)
        batches = -(-n // cfg.batch_size)
        done_batches = 0
        while self.state["epoch"] < cfg.epochs:
            epoch = self.state["epoch"] + 1
            order, aug, running = self._start_epoch(epoch)
            bar = tqdm(range(self.state["batch"], batches), desc=f"epoch {epoch}/{cfg.epochs}",
                       disable=not self.progress, leave=False, unit="batch")
            for b in bar:
                t0 = time.perf_counter()
                idx = np.sort(order[b * cfg.batch_size:(b + 1) * cfg.batch_size])
                loss, correct = self._train_step(self.train_set.images[idx], self.train_set.labels[idx], aug, b)
                running["loss"] += loss * len(idx)
                running["correct"] += correct
                running["seen"] += len(idx)
                running["seconds"] += time.perf_counter() - t0
                bar.set_postfix(loss=f"{running['loss'] / running['seen']:.3f}",
                                acc=f"{running['correct'] / running['seen']:.3f}",
                                img_s=f"{running['seen'] / max(running['seconds'], 1e-9):.0f}")
                done_batches += 1
                if self.comm.size > 1:              # every rank stops at the same batch, or none does
                    stop["asked"] = self.comm.sum(int(stop["asked"])) > 0
                if b + 1 < batches and (stop["asked"] or done_batches == max_batches):
                    self._remember_position(b + 1, aug, running)
                    self.save_checkpoint()
                    bar.close()
                    if stop["asked"]:
                        self.log(f"interrupted: checkpoint saved to {self.path('checkpoint.npz')}")
                        raise KeyboardInterrupt
                    return "paused"
            bar.close()
            self._end_epoch(epoch, running)
            if stop["asked"]:           # the signal came during the epoch's end: its checkpoint is saved
                self.log(f"interrupted: checkpoint saved to {self.path('checkpoint.npz')}")
                raise KeyboardInterrupt
            if done_batches == max_batches and self.state["epoch"] < cfg.epochs:
                return "paused"
        if self.writer:
            save_model(self.path("model.npz"), self.net, self.mean, self.meta())
        return "done"

    def _end_epoch(self, epoch, running):
        row = {"epoch": epoch, "lr": self.state["lr"],
               "train_loss": running["loss"] / running["seen"],
               "train_acc": running["correct"] / running["seen"], "seconds": running["seconds"]}
        if self.val_set is not None:
            t0 = time.perf_counter()
            row.update(self._validate(), eval_seconds=time.perf_counter() - t0)
        self.state["history"].append(row)
        self.log(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        self._anneal(epoch, row)
        self.state.update(epoch=epoch, batch=0, running=None, rng=None)
        # The snapshot first: the checkpoint marks the epoch done, and a kill between the two
        # must leave the epoch to be redone (snapshot and all), not a snapshot lost for good.
        self._write_snapshot(epoch)
        self.save_checkpoint()
        self.write_metrics()

    def _validate(self):
        """Validation loss, top-1 and top-5 accuracy; with several ranks each scores its shard of the
        images and the sums are reduced."""
        cfg, comm, n = self.config, self.comm, len(self.val_set)
        lo, hi = shard_bounds(n, comm.rank, comm.size)
        sums = np.zeros(3)
        if hi > lo:
            part = self.val_set.subset(np.arange(lo, hi)) if comm.size > 1 else self.val_set
            result = evaluate(self.net, part, self.mean, crop_pad=cfg.crop_pad, device=self.device)
            sums = np.array([result["loss"], result["top1"], result["top5"]]) * (hi - lo)
        sums = np.array([comm.sum(float(v)) for v in sums]) / n
        return {"val_loss": float(sums[0]), "val_acc": float(sums[1]), "val_top5": float(sums[2])}

    def _write_snapshot(self, epoch):
        if epoch in self.config.snapshots and self.writer:
            save_model(self.path("snapshots", f"epoch_{epoch:03d}.npz"), self.net, self.mean, self.meta())

    def _anneal(self, epoch, row):
        cfg, st = self.config, self.state
        anneal = epoch in cfg.lr_steps
        if cfg.plateau_patience and "val_acc" in row:
            error = 1.0 - row["val_acc"]
            if st["best_val_error"] is None or error < st["best_val_error"]:
                st["best_val_error"], st["epochs_since_best"] = error, 0
            else:
                st["epochs_since_best"] += 1
                if st["epochs_since_best"] >= cfg.plateau_patience:
                    anneal, st["epochs_since_best"] = True, 0
        if anneal:
            st["lr"] /= cfg.anneal_factor
            self.log(f"learning rate annealed to {st['lr']:.3g}")
