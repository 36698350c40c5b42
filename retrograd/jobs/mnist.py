"""The main job: train a classifier on MNIST, check its gradients first, report, save.

`retrograd demo` runs `run(demo_config())`: an MLP 784-256-128-10 with ReLU,
softmax cross-entropy and SGD with momentum on the MNIST test set embedded in
the package (8,000 images to train on, 2,000 held out), after `gradcheck_model`
has verified every parameter's gradient against finite differences.
`retrograd train --data mnist ...` runs the same job with other settings.
"""
import os
import time
from dataclasses import dataclass, field

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.data.mnist import MEAN, STD
from retrograd.jobs.data_parallel import DataParallel


@dataclass
class MnistConfig:
    model: str = "mlp"
    hidden: tuple = (256, 128)
    activation: str = "relu"
    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"
    schedule: str = "cosine"
    augment: bool = True
    train_size: int = 8000
    val_size: int = 2000
    data: str = "embedded"
    seed: int = 0
    out_dir: str = "retrograd-runs/mnist"
    gradcheck: bool = True
    resume: str = None
    progress: bool = True
    extra: dict = field(default_factory=dict)


def demo_config(**overrides):
    return MnistConfig(**overrides)


# ----- data --------------------------------------------------------------------------------
def load_images(source="embedded"):
    """(images uint8 (N, 28, 28), labels int64 (N,)) from the embedded set, a directory of IDX files, or
    'images_path,labels_path'."""
    from retrograd.data import mnist as mnist_data

    if source in (None, "embedded", "mnist"):
        return mnist_data.load_embedded_mnist()
    if "," in source:
        images_path, labels_path = source.split(",", 1)
        return mnist_data.load_mnist_idx(images_path, labels_path)
    if os.path.isdir(source):
        return mnist_data.load_mnist_dir(source)
    raise FileNotFoundError(f"--data {source!r}: expected 'mnist' (the embedded set), a directory holding MNIST IDX "
                            f"files, or 'IMAGES,LABELS' paths")


def split(images, labels, train_size, val_size, seed):
    """A seeded random split into normalised float32 training and held-out sets."""
    if train_size + val_size > len(images):
        raise ValueError(f"MNIST job: {train_size} + {val_size} images requested, the data has {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    x = ((images.astype(np.float32) / 255.0) - MEAN) / STD
    train, val = order[:train_size], order[train_size:train_size + val_size]
    return x[train], labels[train], x[val], labels[val]


class Batches:
    """Shuffled minibatches of (images, labels), optionally with random shifts of up to `shift` pixels.

    The shift (padding with the background value, then a per-image crop) is the classic cheap
    augmentation for MNIST: with 8,000 training images it is worth about 1.5 points of accuracy.
    Vectorised: one fancy-indexing gather per batch. `flat` gives (B, 784) rows for MLPs."""

    def __init__(self, x, y, batch_size, shuffle=True, shift=0, flat=True, seed=0):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.shift, self.flat = shuffle, shift, flat
        self.rng = np.random.default_rng(seed)
        self.background = float(x.min())

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]

    def _shifted(self, images):
        s = self.shift
        n = len(images)
        padded = np.pad(images, ((0, 0), (s, s), (s, s)), constant_values=self.background)
        dy = self.rng.integers(0, 2 * s + 1, n)
        dx = self.rng.integers(0, 2 * s + 1, n)
        rows = (dy[:, None] + np.arange(28))[:, :, None]  # (n, 28, 1)
        cols = (dx[:, None] + np.arange(28))[:, None, :]  # (n, 1, 28)
        return padded[np.arange(n)[:, None, None], rows, cols]

    def __iter__(self):
        order = self.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            images = self.x[index]
            if self.shift:
                images = self._shifted(images)
            shape = (len(index), 784) if self.flat else (len(index), 1, 28, 28)
            yield rg.from_numpy(np.ascontiguousarray(images).reshape(shape)), rg.from_numpy(self.y[index])


# ----- models --------------------------------------------------------------------------------
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def build_mlp(hidden=(256, 128), activation="relu", inputs=784, classes=10):
    layers, width = [], inputs
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def build_lenet(config):
    from retrograd.models import LeNet5

    return LeNet5()


def build_resnet(config):
    from retrograd.models import resnet_small

    return resnet_small()


MODELS = {"mlp": lambda config: build_mlp(config.hidden, config.activation), "lenet": build_lenet,
          "resnet": build_resnet}
FLAT_INPUT = {"mlp"}  # the others take (N, 1, 28, 28) images


def build_optimizer(config, params):
    name = config.optimizer.lower()
    if name == "sgd":
        return rg.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if name == "adam":
        return rg.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if name == "adamw":
        return rg.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if name == "rmsprop":
        return rg.optim.RMSprop(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: choose sgd, adam, adamw or rmsprop")


# ----- the job -----------------------------------------------------------------------------------
def run(config, log=print):
    """Train, evaluate, save a checkpoint and a plot; return a summary dict. Under `mpiexec -n N`, N processes
    train data-parallel (see data_parallel.py): only rank 0 prints, plots and saves."""
    parallel = DataParallel.from_environment()
    with parallel.abort_on_error():
        return _run(config, parallel.log(log), parallel)


def _run(config, log, parallel):
    started = time.perf_counter()
    rg.manual_seed(config.seed)
    if config.model not in MODELS:
        raise ValueError(f"unknown model {config.model!r}: choose from {sorted(MODELS)}")
    images, labels = load_images(config.data)
    x_train, y_train, x_val, y_val = split(images, labels, config.train_size, config.val_size, config.seed)
    flat = config.model in FLAT_INPUT
    log(f"MNIST ({'embedded test set' if config.data in (None, 'embedded', 'mnist') else config.data}): "
        f"{len(x_train)} training and {len(x_val)} held-out images")

    model = MODELS[config.model](config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {config.model}, {n_params:,} parameters" + (f"; {parallel.describe()}" if parallel.describe() else ""))
    loss_fn = nn.CrossEntropyLoss()

    verdict = None
    if config.gradcheck and parallel.is_main:
        verdict = check_gradients(model, loss_fn, x_train[:8], y_train[:8], flat, log)

    optimizer = build_optimizer(config, model.parameters())
    scheduler = rg.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs) if config.schedule == "cosine" \
        else None
    train_batches = Batches(x_train, y_train, config.batch_size, shift=2 if config.augment else 0, flat=flat,
                            seed=config.seed + 1)
    val_batches = Batches(x_val, y_val, 500, shuffle=False, flat=flat)

    os.makedirs(config.out_dir, exist_ok=True)
    checkpoint_path = os.path.join(config.out_dir, "checkpoint.safetensors")
    start_epoch, history = 0, None
    if config.resume:
        saved = rg.load(config.resume)  # the optimizer's name first: it explains a state that will not fit
        _check_same_optimizer(config, saved.get("extra") if isinstance(saved, dict) else None)
        state = rg.train.load_checkpoint(config.resume, model, optimizer, scheduler)
        start_epoch, history = state["epoch"], state["history"]
        if state["extra"]:
            train_batches.load_state_dict(state["extra"]["batches"])
        log(f"resumed from {config.resume} at epoch {start_epoch}")
        if scheduler is not None and config.epochs > start_epoch:
            anneal_to_new_total(scheduler, config.epochs, log)
    saver = rg.train.ModelCheckpoint(checkpoint_path, scheduler=scheduler, model=model,
                                     extra_state=lambda: {"batches": train_batches.state_dict(),
                                                          "optimizer": config.optimizer})
    history = rg.train.fit(parallel.wrap(model), loss_fn, optimizer, parallel.shard(train_batches), val_batches,
                           epochs=max(config.epochs - start_epoch, 0), metrics=["accuracy"], scheduler=scheduler,
                           callbacks=[saver] if parallel.is_main else [], progress=config.progress and parallel.is_main,
                           start_epoch=start_epoch, history=history, log=log)
    final = rg.train.evaluate(model, loss_fn, val_batches, ["accuracy"])
    plot_path = os.path.join(config.out_dir, "history.png") if parallel.is_main else None
    try:
        if plot_path:
            history.plot(plot_path, title=f"retrograd {config.model} on MNIST")
    except ImportError as error:
        plot_path = None
        log(f"(no plot: {error})")
    seconds = time.perf_counter() - started
    log(f"held-out accuracy: {final['accuracy'] * 100:.2f}% (loss {final['loss']:.4f}) after {len(history)} "
        f"epochs, {seconds:.1f}s")
    log(f"checkpoint: {checkpoint_path}")
    if plot_path:
        log(f"plot: {plot_path}")
    return {"accuracy": final["accuracy"], "loss": final["loss"], "seconds": seconds, "gradcheck": verdict,
            "checkpoint": checkpoint_path, "plot": plot_path, "history": history}


def anneal_to_new_total(scheduler, epochs, log):
    """--epochs on resume is the new total: a cosine schedule the checkpoint saved with another T_max anneals to
    `epochs` instead (the restored T_max would run the added epochs at the end of the old schedule: lr near 0, or
    climbing again past T_max). The lr at the current epoch becomes PyTorch's closed form for the new T_max, from
    which its recursive form continues; the same --epochs changes nothing, so such a resume stays bit-identical."""
    if scheduler.T_max == epochs:
        return
    saved = scheduler.T_max
    scheduler.T_max = epochs
    lrs = scheduler._get_closed_form_lr()  # not step(epoch): PyTorch deprecates it (and it counts a step)
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = lrs
    log(f"cosine schedule: annealing over {epochs} epochs in all, not the checkpoint's {saved}: lr {lrs[0]:.6g} "
        f"for epoch {scheduler.last_epoch + 1}")


def _check_same_optimizer(config, extra):
    """An optimizer's state only means something to the same kind of optimizer: SGD's momentum buffers are
    not Adam's moments. (Checkpoints written before the name was saved are not checked.)"""
    saved = (extra or {}).get("optimizer")
    if saved is not None and str(saved) != config.optimizer:
        raise ValueError(f"--resume {config.resume}: the checkpoint was trained with --optimizer {saved}, this run "
                         f"asks for --optimizer {config.optimizer}; resume with --optimizer {saved}")


def check_gradients(model, loss_fn, x, y, flat, log):
    """gradcheck_model on a few images: every parameter's gradient against finite differences (float64)."""
    shape = (len(x), 784) if flat else (len(x), 1, 28, 28)
    batch = (rg.tensor(x.reshape(shape), dtype=rg.float64), rg.tensor(y))
    report = rg.autograd.gradcheck_model(model, loss_fn, batch, max_entries_per_param=12)
    log("gradient check (float64 central differences, sampled entries):")
    log(str(report))
    log(f"gradient check: {'PASSED' if report.passed else 'FAILED'}")
    return report.passed
