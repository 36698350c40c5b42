"""Resuming training: transactional load_checkpoint, optimizer state checks, DataLoader position, vocabulary."""
import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataLoader, TensorDataset
from retrograd.serialization import CheckpointError
from retrograd.train import ModelCheckpoint, fit, load_checkpoint, save_checkpoint


def make_run(seed=0, loader_kwargs=None):
    rg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = np.random.default_rng(1)
    dataset = TensorDataset(rg.tensor(data.standard_normal((22, 3)).astype(np.float32)),
                            rg.tensor(data.standard_normal((22, 2)).astype(np.float32)))
    loader = DataLoader(dataset, batch_size=4, shuffle=True, **(loader_kwargs or {}))
    return model, optimizer, loader


def train_steps(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def parameters(model):
    return [p.array.copy() for p in model.parameters()]


# ----- item 8: validate everything, then apply ---------------------------------------------
def saved_checkpoint(tmp_path):
    model, optimizer, loader = make_run()
    train_steps(model, optimizer, loader)
    path = tmp_path / "ckpt"
    save_checkpoint(path, model, optimizer, epoch=1)
    return path, rg.load(path)


def corrupt_optimizer(state):
    del state["optimizer"]["param_groups"][0]["params"]


def adam_state_in_sgd_slot(state):
    p = [rg.zeros(4, 3, requires_grad=True), rg.zeros(4, requires_grad=True), rg.zeros(2, 4, requires_grad=True),
         rg.zeros(2, requires_grad=True)]
    adam = optim.Adam(p)
    for q in p:
        q.grad = rg.ones(*q.shape)
    adam.step()
    state["optimizer"] = adam.state_dict()


def wrong_buffer_shape(state):
    state["optimizer"]["state"][0]["momentum_buffer"] = np.zeros((3, 4), np.float32)


def wrong_model_shape(state):
    state["model"]["2.weight"] = np.zeros((3, 4), np.float32)


def text_in_model(state):
    state["model"]["0.bias"] = "oops"


def bad_rng(state):
    state["rng"] = {"bit_generator": "PCG64", "state": "nonsense"}


def bad_epoch(state):
    state["epoch"] = -1


@pytest.mark.parametrize("damage, field", [
    (corrupt_optimizer, "optimizer"), (adam_state_in_sgd_slot, "optimizer"), (wrong_buffer_shape, "optimizer"),
    (wrong_model_shape, "model"), (text_in_model, "model"), (bad_rng, "rng"), (bad_epoch, "epoch"),
])
def test_a_bad_part_is_refused_naming_the_field_and_nothing_changes(tmp_path, damage, field):
    path, state = saved_checkpoint(tmp_path)
    damage(state)
    rg.save(state, path)
    model, optimizer, loader = make_run(seed=5)
    weights, rng_before = parameters(model), rg.get_rng_state()
    optimizer_before = optimizer.state_dict()
    with pytest.raises(CheckpointError, match=f"field '{field}'"):
        load_checkpoint(path, model, optimizer, loader=loader)
    for before, after in zip(weights, parameters(model)):
        np.testing.assert_array_equal(before, after)
    assert optimizer.state_dict() == optimizer_before and rg.get_rng_state().tolist() == rng_before.tolist()


def test_optimizer_state_of_another_kind_or_shape_is_refused_at_load_not_at_step():
    a = rg.zeros(3, requires_grad=True)
    adam = optim.Adam([a])
    a.grad = rg.ones(3)
    adam.step()
    sgd = optim.SGD([a], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"param_groups\[0\] lacks the option\(s\) \['momentum'"):
        sgd.load_state_dict(adam.state_dict())
    saved = adam.state_dict()
    saved["param_groups"][0].update(momentum=0.9, dampening=0, nesterov=False)  # options fit, buffers do not
    with pytest.raises(ValueError, match=r"state\[0\] holds \['exp_avg', 'exp_avg_sq', 'step'\].*"
                                         r"keeps \['momentum_buffer'\]"):
        sgd.load_state_dict(saved)
    saved = adam.state_dict()
    saved["state"][0]["exp_avg"] = rg.zeros(5)
    fresh = optim.Adam([a])
    with pytest.raises(ValueError, match=r"state\[0\]\['exp_avg'\] has shape \(5,\), its parameter has shape "
                                         r"\(3,\)"):
        fresh.load_state_dict(saved)
    assert fresh.state_dict()["state"] == {}  # unchanged
    with pytest.raises(ValueError, match="'state' dict and a 'param_groups' list"):
        fresh.load_state_dict({"state": {}})


# ----- item 9: bit-identical resume with a seeded or given generator --------------------------
LOADERS = [dict(seed=7), dict(generator="numpy"), dict()]


def loader_kwargs(kind):
    return {"generator": np.random.default_rng(3)} if kind.get("generator") == "numpy" else dict(kind)


@pytest.mark.parametrize("kind", LOADERS, ids=["seed", "generator", "global"])
@pytest.mark.parametrize("stop_after", [2, 6, 9])  # mid-epoch, epoch boundary (6 batches per epoch), mid-epoch
def test_resume_mid_epoch_or_at_boundary_is_bit_identical(tmp_path, kind, stop_after):
    epochs = 3
    model, optimizer, loader = make_run(loader_kwargs=loader_kwargs(kind))
    for _ in range(epochs):
        train_steps(model, optimizer, loader)
    expected = parameters(model)

    model, optimizer, loader = make_run(loader_kwargs=loader_kwargs(kind))
    steps = 0
    for _ in range(epochs):
        for batch in loader:
            train_steps(model, optimizer, [batch])
            steps += 1
            if steps == stop_after:
                save_checkpoint(tmp_path / "ckpt", model, optimizer, loader=loader)
        if steps >= stop_after:
            break

    model, optimizer, loader = make_run(seed=99, loader_kwargs=loader_kwargs(kind))  # another process's state
    load_checkpoint(tmp_path / "ckpt", model, optimizer, loader=loader)
    for _ in range(epochs - (stop_after - 1) // len(loader)):  # the first pass finishes the saved epoch
        train_steps(model, optimizer, loader)
    for e, r in zip(expected, parameters(model)):
        np.testing.assert_array_equal(r, e)


@pytest.mark.parametrize("kind", LOADERS, ids=["seed", "generator", "global"])
def test_fit_checkpoints_resume_bit_identically(tmp_path, kind):
    model, optimizer, loader = make_run(loader_kwargs=loader_kwargs(kind))
    fit(model, nn.MSELoss(), optimizer, loader, epochs=2, progress=False, log=None)
    expected = parameters(model)

    model, optimizer, loader = make_run(loader_kwargs=loader_kwargs(kind))
    fit(model, nn.MSELoss(), optimizer, loader, epochs=1, progress=False, log=None,
        callbacks=[ModelCheckpoint(tmp_path / "ckpt")])
    model, optimizer, loader = make_run(seed=42, loader_kwargs=loader_kwargs(kind))
    resumed = load_checkpoint(tmp_path / "ckpt", model, optimizer, loader=loader)
    fit(model, nn.MSELoss(), optimizer, loader, epochs=1, start_epoch=resumed["epoch"], progress=False, log=None)
    for e, r in zip(expected, parameters(model)):
        np.testing.assert_array_equal(r, e)


def test_loader_state_dict_errors():
    _, _, seeded = make_run(loader_kwargs=dict(seed=1))
    _, _, global_rng = make_run()
    with pytest.raises(ValueError, match="saved by a loader with its own generator"):
        global_rng.load_state_dict(seeded.state_dict())
    with pytest.raises(ValueError, match=r"batches_yielded must be an integer in \[0, 6\]"):
        seeded.load_state_dict({**seeded.state_dict(), "batches_yielded": 7})


def test_char_lstm_resume_refuses_a_corpus_with_another_vocabulary(tmp_path):
    from retrograd.jobs import charlm

    first_text, other_text = tmp_path / "a.txt", tmp_path / "b.txt"
    first_text.write_text("abcdefgh " * 60)
    other_text.write_text("abcdefgX " * 60)  # same size of vocabulary, one character differs
    config = charlm.CharConfig(file=str(first_text), hidden=8, embed=4, batch_size=2, k1=5, epochs=1,
                               sample_length=5, out_dir=str(tmp_path / "run"), progress=False)
    checkpoint = charlm.run(config, log=lambda *a: None)["checkpoint"]
    config.file, config.resume = str(other_text), checkpoint
    with pytest.raises(ValueError, match=r"checkpoint holds a vocabulary of 9 characters ' abcdefgh'.*"
                                         r"corpus \(.*b.txt\) has 9 characters ' Xabcdefg'"):
        charlm.run(config, log=lambda *a: None)


# ----- item 10: fit on an empty loader -------------------------------------------------------
def test_fit_on_an_empty_loader_raises_instead_of_logging_a_zero_loss():
    model, optimizer, _ = make_run()
    empty = DataLoader(TensorDataset(rg.zeros(0, 3), rg.zeros(0, 2)), batch_size=4)
    with pytest.raises(ValueError, match="fit: the training loader yielded no samples in epoch 1"):
        fit(model, nn.MSELoss(), optimizer, empty, progress=False, log=None)
    short = DataLoader(TensorDataset(rg.zeros(3, 3), rg.zeros(3, 2)), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="no samples"):
        fit(model, nn.MSELoss(), optimizer, short, progress=False, log=None)
