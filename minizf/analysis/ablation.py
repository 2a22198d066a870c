"""Sec. 5.1, Table 3: which parts of the architecture matter.

The paper removes or resizes layers of its model, retrains every variant
the same way, and compares training and validation errors. Its findings:
removing the fully connected layers 6 and 7 costs little (they hold most of
the parameters), removing conv layers 3 and 4 a little more, removing all
four a lot (depth matters); wider middle conv layers help, while wider
fully connected layers on top of them overfit.

``VARIANTS`` makes the same changes to the small 32-px models: the paper's
conv3-5 widths 384, 384, 256 -> 512, 1024, 512 become 192, 192, 128 -> 256,
512, 256 here, and its fc6-7 widths 4096 -> 2048 / 8192 become 512 -> 256 /
1024 (the same ratios).
"""
import dataclasses
import os
from dataclasses import dataclass, field

from .. import models
from ..train import TrainConfig, Trainer, evaluate

#: (key, Table 3's row, options of the model builder), in the paper's order.
VARIANTS = (
    ("full", "our model (Fig. 3)", {}),
    ("fc-half", "adjust layers 6, 7: half the units", {"fc_width": 256}),
    ("fc-double", "adjust layers 6, 7: twice the units", {"fc_width": 1024}),
    ("no-7", "removed layer 7", {"drop": (7,)}),
    ("no-6-7", "removed layers 6, 7", {"drop": (6, 7)}),
    ("no-3-4", "removed layers 3, 4", {"drop": (3, 4)}),
    ("no-3-4-6-7", "removed layers 3, 4, 6, 7", {"drop": (3, 4, 6, 7)}),
    ("wide-conv", "adjust layers 3, 4, 5: wider", {"widths": (64, 128, 256, 512, 256)}),
    ("wide-conv-fc", "adjust layers 3, 4, 5 wider and 6, 7 twice the units",
     {"widths": (64, 128, 256, 512, 256), "fc_width": 1024}),
)


@dataclass
class AblationResult:
    """One row of Table 3: errors after training, and the size of the variant."""
    key: str
    description: str
    options: dict
    parameters: int
    train_error: float                  # top-1 on the training images, no augmentation, no dropout
    val_error: float                    # top-1 on the validation images
    history: list = field(default_factory=list, repr=False)


def variants(keys=None):
    """The rows of ``VARIANTS`` with these keys (default: all), in the paper's order."""
    if keys is None:
        return list(VARIANTS)
    known = {key for key, _, _ in VARIANTS}
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise ValueError(f"unknown ablation variant(s) {unknown}: expected some of {sorted(known)}")
    return [row for row in VARIANTS if row[0] in keys]


def ablation(train_set, val_set, config=None, out_dir="runs/ablation", model="zf-small", keys=None,
             progress=True, log=print, device="cpu"):
    """Train every variant with the same config and data -> [AblationResult].

    Each variant trains in ``out_dir/KEY`` with its own checkpoints: calling
    again with the same arguments resumes an interrupted study and reuses the
    variants already trained. ``config`` defaults to ``TrainConfig()``
    without weight snapshots.
    """
    config = config or TrainConfig(snapshots=())
    results = []
    for key, description, options in variants(keys):
        log(f"--- {key}: {description} {options or ''}")
        net = models.build(model, **options)
        trainer = Trainer(net, model, train_set, val_set, dataclasses.replace(config),
                          os.path.join(out_dir, key), options, progress=progress, log=log, device=device)
        done = os.path.exists(trainer.path("checkpoint.npz"))
        trainer.run(resume=done)
        results.append(AblationResult(
            key, description, options, models.parameter_count(net),
            train_error=1.0 - evaluate(net, train_set, trainer.mean, device=device)["top1"],
            val_error=1.0 - evaluate(net, val_set, trainer.mean, device=device)["top1"],
            history=trainer.state["history"]))
    return results
