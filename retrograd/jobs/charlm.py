"""The char-LSTM job: a character-level language model trained with stateful truncated BPTT.

`retrograd train --data text [--file PATH] --model lstm` lays the corpus out in the stateful
layout (row i of each chunk continues row i of the previous one), trains with
`retrograd.train.tbptt` carrying the state across chunks, reports the validation loss in
nats per character, samples text with a temperature, and saves a checkpoint it can resume
from. The default corpus is the excerpt of tinyshakespeare embedded in the package.
"""
import math
import os
import time
from dataclasses import dataclass

import numpy as np

import retrograd as rg
from retrograd import nn
from retrograd.jobs.data_parallel import DataParallel
from retrograd.nn import functional as F

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass
class CharConfig:
    file: str = None
    model: str = "lstm"
    hidden: int = 256
    layers: int = 1
    embed: int = 64
    batch_size: int = 32
    k1: int = 50
    k2: int = 50
    lr: float = 2e-3
    clip: float = 5.0
    epochs: int = 1  # in all, the checkpoint's included: resuming after epoch 3 with epochs=5 trains 2 more
    minutes: float = None
    val_fraction: float = 0.1
    temperature: float = 0.8
    sample_length: int = 300
    seed: int = 0
    out_dir: str = "retrograd-runs/charlm"
    resume: str = None
    progress: bool = True


class CharLM(nn.Module):
    """Embedding -> recurrent layer(s) -> Linear at every step. forward(x (B, T), state) -> (logits (B, T, V), state)."""

    def __init__(self, vocab_size, embed=64, hidden=256, layers=1, cell="lstm"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"char model: unknown cell {cell!r}; choose from {sorted(CELLS)}")
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = CELLS[cell](embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, tokens, state=None):
        out, state = self.rnn(self.embed(tokens), state)
        return self.head(out), state


def per_char_loss(logits, targets):
    """Mean cross-entropy per character, in nats."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def evaluate_nats(model, tokens, batch_size, chunk):
    """Validation loss in nats per character, running the state through the whole stretch without gradients."""
    from retrograd.data import stateful_batches

    rows = min(batch_size, max(1, (len(tokens) - 1) // (chunk + 1)))
    model.eval()
    total, count, state = 0.0, 0, None
    with rg.no_grad():
        for x, y, _ in stateful_batches(tokens, rows, chunk):
            logits, state = model(x, state)
            n = y.numel()
            total += per_char_loss(logits, y).item() * n
            count += n
    model.train()
    return total / count


def sample(model, vocab, length=300, temperature=0.8, prime="\n", seed=0):
    """Generate text one character at a time, drawing from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    model.eval()
    state, text = None, []
    if any(ch not in vocab.chars for ch in prime):
        prime = vocab.chars[0]
    indices = vocab.encode(prime)
    with rg.no_grad():
        logits, state = model(rg.from_numpy(np.asarray(indices, np.int64)[None, :]), state)
        for _ in range(length):
            scores = logits.array[0, -1].astype(np.float64) / max(temperature, 1e-6)
            probs = np.exp(scores - scores.max())
            probs /= probs.sum()
            index = int(rng.choice(len(probs), p=probs))
            text.append(index)
            logits, state = model(rg.from_numpy(np.array([[index]], np.int64)), state)
    model.train()
    return vocab.decode(text)


def check_vocabulary(checkpoint, vocab, source):
    """Refuse to resume on a corpus whose characters differ: embedding rows would mean other characters."""
    extra = rg.load(checkpoint).get("extra") or {}
    saved = extra.get("vocab") if isinstance(extra, dict) else None
    if saved != vocab.chars:
        def describe(chars):
            return f"{len(chars)} characters {chars[:60]!r}{'...' if len(chars) > 60 else ''}"

        found = "no vocabulary" if not isinstance(saved, str) else f"a vocabulary of {describe(saved)}"
        raise ValueError(f"--resume {checkpoint}: the checkpoint holds {found}, but the corpus ({source}) has "
                         f"{describe(vocab.chars)}; resume on the corpus the model was trained on")


def run(config, log=print):
    """Train, report, sample, save; return a summary dict. Under `mpiexec -n N`, N processes train
    data-parallel, each on its rows of every stateful batch (see data_parallel.py): only rank 0 prints and saves."""
    parallel = DataParallel.from_environment()
    with parallel.abort_on_error():
        return _run(config, parallel.log(log), parallel)


def _run(config, log, parallel):
    from retrograd.data import text as text_data

    started = time.perf_counter()
    rg.manual_seed(config.seed)
    corpus = text_data.load_text(config.file)
    vocab = text_data.CharVocab(corpus)
    tokens = np.asarray(vocab.encode(corpus), dtype=np.int64)
    split = int(len(tokens) * (1 - config.val_fraction))
    train_tokens, val_tokens = tokens[:split], tokens[split:]
    source = config.file or "embedded tinyshakespeare excerpt"
    log(f"corpus: {source}, {len(tokens):,} characters, vocabulary {len(vocab)}; "
        f"{len(train_tokens):,} for training, {len(val_tokens):,} held out")

    model = CharLM(len(vocab), config.embed, config.hidden, config.layers, config.model)
    optimizer = rg.optim.Adam(model.parameters(), lr=config.lr)
    log(f"model: {config.model} {config.layers}x{config.hidden}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters; TBPTT(k1={config.k1}, k2={config.k2}), "
        f"batch {config.batch_size}, Adam lr {config.lr}, clip {config.clip}"
        + (f"; {parallel.describe()}" if parallel.describe() else ""))

    os.makedirs(config.out_dir, exist_ok=True)
    checkpoint_path = os.path.join(config.out_dir, "checkpoint.safetensors")
    start_epoch, history = 0, rg.train.History()
    if config.resume:
        check_vocabulary(config.resume, vocab, source)
        state = rg.train.load_checkpoint(config.resume, model, optimizer)
        start_epoch, history = state["epoch"], state["history"]
        log(f"resumed from {config.resume} after epoch {start_epoch}")

    segment = config.k1 * 10  # steps per tbptt call: one progress update each
    # the stateful layout: row i of each segment continues row i of the previous one
    batches = parallel.shard(rg.data.stateful_batches(train_tokens, config.batch_size, segment))
    trained = parallel.wrap(model)
    deadline = started + 60 * config.minutes if config.minutes else None
    val_nats = None
    if start_epoch >= config.epochs:  # epochs counts all epochs, those in the checkpoint included (as in mnist)
        log(f"the checkpoint has {start_epoch} epochs, epochs={config.epochs} in all: nothing more to train")
    for epoch in range(start_epoch, config.epochs):
        state, losses = None, []
        segments = batches
        if config.progress and parallel.is_main:
            from tqdm.auto import tqdm

            segments = tqdm(batches, desc=f"epoch {epoch + 1}", dynamic_ncols=True, mininterval=0.5)
        stopped = False
        for x, y, reset in segments:
            if reset.all():
                state = None
            result = rg.train.tbptt(trained, per_char_loss, optimizer, x, y, config.k1, config.k2, state=state,
                                    clip=config.clip)
            state = result.state
            losses += result.losses
            if config.progress and parallel.is_main:
                segments.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", refresh=False)
            if deadline and parallel.any_rank(time.perf_counter() > deadline):  # all ranks stop at the same step
                stopped = True
                break
        val_nats = evaluate_nats(model, val_tokens, config.batch_size, config.k1)
        history.append(epoch, {"loss": float(np.mean(losses)), "val_loss": val_nats,
                               "time": time.perf_counter() - started})
        log(f"epoch {epoch + 1}: train {np.mean(losses):.4f} nats/char, validation {val_nats:.4f} nats/char "
            f"({val_nats / math.log(2):.3f} bits/char), {time.perf_counter() - started:.0f}s")
        if parallel.is_main:
            rg.train.save_checkpoint(checkpoint_path, model, optimizer, epoch=epoch + 1, history=history,
                                     extra={"vocab": vocab.chars, "config": {"model": config.model,
                                                                            "hidden": config.hidden,
                                                                            "layers": config.layers,
                                                                            "embed": config.embed}})
        if stopped:
            log(f"time budget of {config.minutes} minutes reached")
            break

    text = sample(model, vocab, config.sample_length, config.temperature, seed=config.seed) if parallel.is_main else ""
    log(f"sample (temperature {config.temperature}):\n{text}")
    log(f"checkpoint: {checkpoint_path}")
    return {"val_nats": val_nats, "history": history, "sample": text, "checkpoint": checkpoint_path,
            "seconds": time.perf_counter() - started}
