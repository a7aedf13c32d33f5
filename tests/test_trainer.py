"""The Trainer against a hand-written loop, accumulation against one big batch, and exact resume."""
from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.tokens import TokenWindows
from course_lib.training import (
    Trainer,
    TrainerConfig,
    read_checkpoint,
    save_checkpoint,
    weight_decay_groups,
)
from course_lib.transformer import GPT, GPTConfig

VOCAB, T = 64, 16


def tiny_config(**changes) -> GPTConfig:
    return GPTConfig(**{"vocab_size": VOCAB, "context_length": T, "n_layers": 2, "n_heads": 2, "d_model": 32,
                        **changes})


def tiny_model(seed=0, dtype=torch.float32, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(tiny_config(**changes)).to(dtype)


# A stream with structure (a noisy repeating pattern), so that training has something to learn.
_rng = torch.Generator().manual_seed(0)
TOKENS = (torch.arange(3000) * 7 % VOCAB + (torch.rand(3000, generator=_rng) < 0.1) * 3) % VOCAB


def windows(batch_size=8, seed=0, tokens=TOKENS):
    return TokenWindows(tokens, context_length=T, batch_size=batch_size, seed=seed)


def config(**changes) -> TrainerConfig:
    return TrainerConfig(**{"max_steps": 8, "lr": 3e-3, "warmup_steps": 2, "final_lr_factor": 0.1,
                            "weight_decay": 0.1, "grad_clip": 0.5, "progress": False, **changes})


# ----- weight decay groups ---------------------------------------------------------------------------
def test_decay_only_for_matrices_of_linear_layers():
    model = tiny_model()
    decay, no_decay = weight_decay_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = sorted(names[id(p)] for p in decay["params"])
    assert all(n.endswith(("qkv.weight", "proj.weight", "fc.weight")) for n in decayed) and len(decayed) == 8
    not_decayed = {names[id(p)] for p in no_decay["params"]}
    assert {"token_embedding.weight", "positions.table.weight", "final_norm.weight", "blocks.0.attn.qkv.bias"} <= not_decayed
    # every parameter exactly once, the tied output layer included only as the embedding
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0


# ----- the loop against a hand-written one ----------------------------------------------------------
def hand_written_losses(model, data, steps, lr, warmup, final, weight_decay, clip, betas=(0.9, 0.95)):
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n and "positions" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n and "positions" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas)

    def factor(s):
        if s < warmup:
            return (s + 1) / warmup
        p = min(1.0, (s - warmup) / (steps - warmup))
        return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * p))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses = []
    for _ in range(steps):
        x, y = data.sample()
        logits = model(x)[0]
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def test_trainer_matches_a_hand_written_loop_step_for_step():
    model = tiny_model(dtype=torch.float64)
    reference = copy.deepcopy(model)
    trainer = Trainer(model, windows(), config())
    assert trainer.autocast_dtype is None  # no autocast on the CPU: plain float64 here
    losses = trainer.train()["loss"]
    expected = hand_written_losses(reference, windows(), 8, 3e-3, 2, 0.1, 0.1, 0.5)
    assert len(losses) == 8
    assert losses == pytest.approx(expected, rel=1e-12, abs=1e-12)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-12)
    assert losses[-1] < losses[0]  # and it learns


def test_learning_rates_follow_warmup_and_cosine():
    trainer = Trainer(tiny_model(), windows(), config(max_steps=6, warmup_steps=2, lr=1.0, final_lr_factor=0.0))
    lrs = trainer.train()["lr"]
    assert lrs == pytest.approx([0.5, 1.0, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4))])


def test_accumulation_equals_one_big_batch():
    runs = {}
    for k in (1, 4):
        trainer = Trainer(tiny_model(dtype=torch.float64), windows(batch_size=8), config(accumulation_steps=k))
        runs[k] = (trainer.train()["loss"], [p.detach().clone() for p in trainer.model.parameters()])
    assert runs[4][0] == pytest.approx(runs[1][0], rel=1e-10)
    for p, q in zip(runs[1][1], runs[4][1]):
        assert torch.allclose(p, q, rtol=1e-9, atol=1e-12)


def test_a_batch_that_does_not_divide_into_the_accumulation_is_an_error():
    with pytest.raises(ValueError, match="batch_size=6 does not divide into accumulation_steps=4"):
        Trainer(tiny_model(), windows(batch_size=6), config(accumulation_steps=4))


@pytest.mark.parametrize("changes, match", [
    ({"warmup_steps": 8}, "warmup_steps=8 must be smaller than max_steps=8"),
    ({"max_steps": 0}, "max_steps: expected an int >= 1, got 0"),
    ({"max_steps": True}, "max_steps: expected an int >= 1, got True"),
    ({"accumulation_steps": 2.0}, "accumulation_steps: expected an int >= 1, got 2.0"),
    ({"eval_batches": 0}, "eval_batches: expected an int >= 1"),
    ({"eval_every": -1}, "eval_every: expected an int >= 0, got -1"),
    ({"warmup_steps": -1}, "warmup_steps: expected an int >= 0"),
    ({"lr": 0.0}, "lr: expected a number > 0, got 0.0"),
    ({"lr": float("nan")}, "lr: expected a number > 0, got nan"),
    ({"lr": "3e-4"}, "lr: expected a number > 0, got '3e-4'"),
    ({"final_lr_factor": 1.5}, r"final_lr_factor: expected a number in \[0, 1\], got 1.5"),
    ({"weight_decay": -0.1}, "weight_decay: expected a number >= 0, got -0.1"),
    ({"betas": (0.9,)}, r"betas: expected two numbers in \[0, 1\)"),
    ({"betas": (0.9, 1.0)}, r"betas: expected two numbers in \[0, 1\), like \(0.9, 0.95\), got \(0.9, 1.0\)"),
    ({"grad_clip": 0.0}, "grad_clip: expected a number > 0 or None, got 0.0"),
    ({"grad_clip": float("inf")}, "grad_clip: expected a number > 0 or None, got inf"),
])
def test_bad_settings_are_errors(changes, match):
    with pytest.raises(ValueError, match=match):
        config(**changes)


@pytest.mark.parametrize("changes, match", [
    ({"eval_seed": 1.5}, "eval_seed: expected an int, got 1.5"),
    ({"progress": "yes"}, "progress: expected True or False, got 'yes'"),
    ({"compile": 1}, "compile: expected True or False, got 1"),
])
def test_settings_of_the_wrong_type_are_errors(changes, match):
    with pytest.raises(TypeError, match=match):
        config(**changes)


def test_seeded_runs_are_repeatable_with_dropout():
    runs = [Trainer(tiny_model(dropout=0.1), windows(), config(max_steps=5)).train()["loss"] for _ in range(2)]
    assert runs[0] == runs[1]


def test_evaluation_scores_the_same_validation_windows_each_time():
    model = tiny_model(dtype=torch.float64)
    val = windows(batch_size=4, seed=5, tokens=TOKENS[:400])
    trainer = Trainer(model, windows(), config(max_steps=4, eval_every=2, eval_batches=3), val_data=val)
    history = trainer.train()
    assert history["val_step"] == [2, 4]
    generator = torch.Generator().manual_seed(trainer.config.eval_seed)
    with torch.no_grad():
        expected = sum(model(*val.sample(generator=generator))[1].item() for _ in range(3)) / 3
    assert history["val_loss"][-1] == pytest.approx(expected, rel=1e-12)
    assert history["val_perplexity"][-1] == pytest.approx(math.exp(expected))
    assert trainer.evaluate()["val_loss"] == pytest.approx(expected, rel=1e-12)  # same windows again
    with pytest.raises(ValueError, match="no validation data"):
        Trainer(tiny_model(), windows(), config()).evaluate()


def test_progress_bar_shows_loss_and_tokens_per_second(capsys):
    Trainer(tiny_model(), windows(), config(max_steps=3, warmup_steps=1, progress=True)).train()
    shown = capsys.readouterr().err
    assert "loss=" in shown and "tok_s=" in shown and "3/3" in shown


# ----- batches as tuples of any number of tensors ---------------------------------------------------------
class WeightedWindows:
    """Windows plus a third tensor, a weight per row: a data source whose batches are 3-tuples."""

    def __init__(self, batch_size=8, seed=0):
        self.windows = windows(batch_size=batch_size, seed=seed)
        self.batch_size = batch_size

    def sample(self, generator=None):
        inputs, targets = self.windows.sample(generator=generator)  # (B, T), (B, T)
        row_weights = 1.0 + inputs[:, 0].double() / VOCAB           # (B,) tied to the row's first token
        return inputs, targets, row_weights

    def state_dict(self):
        return self.windows.state_dict()

    def load_state_dict(self, state):
        self.windows.load_state_dict(state)


class WeightedGPT(torch.nn.Module):
    """A GPT whose loss is the mean over rows of weight * (the row's mean cross-entropy)."""

    def __init__(self, model):
        super().__init__()
        self.gpt = model
        self.calls = []  # the tensors of every forward call

    def forward(self, inputs, targets, row_weights):
        self.calls.append((inputs, targets, row_weights))
        logits, _ = self.gpt(inputs)                                                    # (B, T, V)
        per_token = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
        return logits, (row_weights * per_token.mean(dim=1)).mean()


def weighted_loss_by_hand(model, batch):
    inputs, targets, row_weights = batch
    logits = model.gpt(inputs)[0]
    rows = [F.cross_entropy(logits[b], targets[b]) for b in range(len(inputs))]
    return sum(w * r for w, r in zip(row_weights.tolist(), rows)) / len(rows)


def test_a_batch_of_three_tensors_is_cut_into_aligned_micro_batches():
    runs = {}
    for k in (1, 4):
        model = WeightedGPT(tiny_model(dtype=torch.float64))
        trainer = Trainer(model, WeightedWindows(), config(max_steps=3, accumulation_steps=k))
        runs[k] = (trainer.train()["loss"], [p.detach().clone() for p in model.parameters()], model.calls)
        assert trainer.tokens_last_step == 8 * T  # tokens/s counts the first tensor: B * T
    # 4 micro-batches per step, each 2 rows of every tensor, the rows of one tensor matching the others'
    calls = runs[4][2]
    assert len(calls) == 3 * 4
    assert all(len(c[0]) == len(c[1]) == len(c[2]) == 2 for c in calls)
    for inputs, _, row_weights in calls:
        assert torch.equal(row_weights, 1.0 + inputs[:, 0].double() / VOCAB)
    # together the micro-batches of a step are the step's whole batch, in order
    for step in range(3):
        whole = runs[1][2][step]
        parts = calls[4 * step: 4 * step + 4]
        for i in range(3):
            assert torch.equal(torch.cat([part[i] for part in parts]), whole[i])
    # and accumulation over 3-tuples gives the same training as one big batch
    assert runs[4][0] == pytest.approx(runs[1][0], rel=1e-10)
    for p, q in zip(runs[1][1], runs[4][1]):
        assert torch.allclose(p, q, rtol=1e-9, atol=1e-12)


def test_the_first_loss_of_a_tuple_batch_equals_the_loss_by_hand():
    model = WeightedGPT(tiny_model(dtype=torch.float64))
    reference = copy.deepcopy(model)
    trainer = Trainer(model, WeightedWindows(), config(max_steps=3))
    first = trainer.train_step()
    assert first == pytest.approx(weighted_loss_by_hand(reference, WeightedWindows().sample()).item(), rel=1e-12)


def test_evaluation_of_tuple_batches():
    model = WeightedGPT(tiny_model(dtype=torch.float64))
    val = WeightedWindows(batch_size=4, seed=5)
    trainer = Trainer(model, WeightedWindows(), config(eval_batches=2), val_data=val)
    generator = torch.Generator().manual_seed(trainer.config.eval_seed)
    with torch.no_grad():
        expected = sum(weighted_loss_by_hand(model, val.sample(generator=generator)).item() for _ in range(2)) / 2
    assert trainer.evaluate()["val_loss"] == pytest.approx(expected, rel=1e-12)


# ----- what the trainer refuses ------------------------------------------------------------------------
class NoBatchSize:
    def sample(self, generator=None):
        return windows().sample()


class Returns:
    """A data source whose sample() returns what it is given."""

    batch_size = 8

    def __init__(self, batch):
        self.batch = batch

    def sample(self, generator=None):
        return self.batch


def test_a_data_source_without_sample_or_batch_size_is_an_error():
    with pytest.raises(TypeError, match=r"train_data: expected a data source with a sample\(\) method .* got list"):
        Trainer(tiny_model(), [1, 2, 3], config())
    with pytest.raises(TypeError, match="train_data: expected a data source with an int batch_size >= 1.*got batch_size=None"):
        Trainer(tiny_model(), NoBatchSize(), config())
    with pytest.raises(TypeError, match=r"val_data: expected a data source with a sample\(\) method"):
        Trainer(tiny_model(), windows(), config(), val_data=TOKENS)
    with pytest.raises(TypeError, match="config: expected a TrainerConfig, got dict"):
        Trainer(tiny_model(), windows(), {"max_steps": 3})


def test_a_bad_batch_or_a_missing_loss_is_an_error():
    inputs, targets = windows().sample()  # (8, T) each
    with pytest.raises(TypeError, match=r"train_data.sample\(\): expected a tuple of tensors .* got Tensor"):
        Trainer(tiny_model(), Returns(inputs), config()).train_step()
    with pytest.raises(ValueError, match=r"same batch size .* got shapes \[\(8, 16\), \(4, 16\)\]"):
        Trainer(tiny_model(), Returns((inputs, targets[:4])), config()).train_step()
    with pytest.raises(ValueError, match="a batch of 6 rows does not divide into 4 equal micro-batches"):
        Trainer(tiny_model(), Returns((inputs[:6], targets[:6])), config(accumulation_steps=4)).train_step()
    with pytest.raises(ValueError, match="the model returned loss=None: it must compute a single-number loss"):
        Trainer(tiny_model(), Returns((inputs,)), config()).train_step()  # no targets, so no loss


def test_saving_needs_a_data_source_that_can_save_its_state(tmp_path):
    trainer = Trainer(tiny_model(), Returns(windows().sample()), config())
    with pytest.raises(TypeError, match=r"train_data \(Returns\) has no state_dict\(\) method"):
        trainer.save(tmp_path / "run.pt")
    assert not (tmp_path / "run.pt").exists()


# ----- torch.compile -------------------------------------------------------------------------------------
def compile_problem() -> str | None:
    """Why torch.compile cannot run here (say, no C++ compiler for the CPU kernels), or None."""
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(3))
    except Exception as error:  # noqa: BLE001  any failure means: this machine cannot compile
        return f"torch.compile does not work here: {type(error).__name__}: {str(error)[:200]}"
    return None


@pytest.mark.slow
def test_compiled_training_gives_the_losses_of_eager_training(tmp_path):
    problem = compile_problem()
    if problem:
        pytest.skip(problem)
    runs = {}
    for compiled in (False, True):
        trainer = Trainer(tiny_model(n_layers=1), windows(), config(max_steps=4, compile=compiled))
        runs[compiled] = trainer.train()["loss"]
    assert runs[True] == pytest.approx(runs[False], rel=1e-5, abs=1e-5)
    assert trainer.forward_model is not trainer.model  # the compiled wrapper ran the steps
    # The checkpoint holds the plain model's weights (no "_orig_mod." prefixes): eager resumes it.
    trainer.save(tmp_path / "run.pt")
    assert set(read_checkpoint(tmp_path / "run.pt")["model"]) == set(tiny_model(n_layers=1).state_dict())
    Trainer(tiny_model(n_layers=1), windows(), config(max_steps=4)).resume(tmp_path / "run.pt")


# ----- checkpoints ------------------------------------------------------------------------------------
def test_interrupted_and_resumed_run_gives_the_same_losses(tmp_path):
    settings = config(max_steps=8, eval_every=3, eval_batches=2)
    val = windows(batch_size=4, seed=5, tokens=TOKENS[:400])
    whole = Trainer(tiny_model(dropout=0.1), windows(), settings, val_data=val).train()

    first = Trainer(tiny_model(dropout=0.1), windows(), settings, val_data=val)
    first.train(n_steps=3)
    first.save(tmp_path / "run.pt")
    torch.manual_seed(999)  # the random state moves on before the resume: the checkpoint must restore it
    # A fresh process would build a new model and sampler: different seeds, then resume.
    second = Trainer(tiny_model(seed=7, dropout=0.1), windows(seed=42), settings, val_data=val)
    second.resume(tmp_path / "run.pt")
    assert second.step == 3
    resumed = second.train()
    assert resumed["loss"] == whole["loss"]  # exactly, step for step
    assert resumed == whole                  # learning rates and evaluations too
    assert whole["val_step"] == [3, 6, 8]


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    trainer = Trainer(tiny_model(), windows(), config())
    path = tmp_path / "run.pt"
    trainer.save(path)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut short, as by a full disk
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        trainer.resume(path)
    path.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        trainer.resume(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        trainer.resume(tmp_path / "missing.pt")


@pytest.mark.parametrize("changes, match", [
    ({"vocab_size": 80}, "vocab_size=64, this model has vocab_size=80"),
    ({"d_model": 48}, "d_model=32, this model has d_model=48"),
])
def test_a_checkpoint_of_another_model_names_the_mismatch_and_changes_nothing(tmp_path, changes, match):
    Trainer(tiny_model(), windows(), config()).save(tmp_path / "run.pt")
    other = tiny_model(seed=3, **changes)
    before = copy.deepcopy(other.state_dict())
    trainer = Trainer(other, windows(), config())
    with pytest.raises(ValueError, match=match):
        trainer.resume(tmp_path / "run.pt")
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())
    assert trainer.step == 0


def test_a_checkpoint_for_other_windows_is_refused(tmp_path):
    Trainer(tiny_model(), windows(batch_size=8), config()).save(tmp_path / "run.pt")
    with pytest.raises(ValueError, match="batch_size=8"):
        Trainer(tiny_model(), windows(batch_size=4), config()).resume(tmp_path / "run.pt")


def test_a_checkpoint_without_sampler_state_cannot_resume_exactly(tmp_path):
    trainer = Trainer(tiny_model(), windows(), config())
    save_checkpoint(tmp_path / "run.pt", model=trainer.model, optimizer=trainer.optimizer,
                    scheduler=trainer.scheduler, step=0)
    with pytest.raises(ValueError, match="no data sampler state"):
        trainer.resume(tmp_path / "run.pt")


def test_a_failed_save_leaves_the_good_checkpoint_whole(tmp_path, monkeypatch):
    trainer = Trainer(tiny_model(), windows(), config())
    path = tmp_path / "run.pt"
    trainer.save(path)
    good = path.read_bytes()
    trainer.train(n_steps=2)

    def crash_midway(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    assert path.read_bytes() == good
    assert read_checkpoint(path)["step"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left behind


# ----- data parallel -----------------------------------------------------------------------------------
DDP_SCRIPT = '''
import json, sys
import torch
import torch.distributed as dist
sys.path.insert(0, {tests!r})
from test_trainer import config, tiny_model, windows
from course_lib.training import Trainer

dist.init_process_group("gloo")
trainer = Trainer(tiny_model(dtype=torch.float64), windows(batch_size=8), config(accumulation_steps={k}))
rows = []  # every input row this process trains on
trainer.model.register_forward_pre_hook(lambda module, args: rows.extend(args[0].tolist()))
losses = trainer.train()["loss"]
weights = [p.detach().flatten().tolist() for p in trainer.model.parameters()]
with open({out!r} + f"/rank{{dist.get_rank()}}.json", "w") as file:
    json.dump({{"losses": losses, "weights": weights, "rows": rows}}, file)
dist.destroy_process_group()
'''


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    accumulation_steps = 2  # with accumulation, so that DDP's no_sync path is used too
    tests = str(Path(__file__).parent)
    script = tmp_path / "train_ddp.py"
    script.write_text(DDP_SCRIPT.format(tests=tests, out=str(tmp_path), k=accumulation_steps))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(tests).parent))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]

    single = Trainer(tiny_model(dtype=torch.float64), windows(batch_size=8), config(accumulation_steps=accumulation_steps))
    expected = single.train()["loss"]
    single.train_data = windows(batch_size=8)  # a fresh sampler replays the 8 global batches
    # each process trained on its own half of every global batch, together on all of it
    all_rows = [row for _ in range(8) for row in single.train_data.sample()[0].tolist()]
    seen = [(tuple(a), tuple(b)) for a, b in zip(ranks[0]["rows"], ranks[1]["rows"])]
    assert len(ranks[0]["rows"]) == len(ranks[1]["rows"]) == 8 * 4
    assert sorted(r for pair in seen for r in pair) == sorted(map(tuple, all_rows))
    for rank in ranks:
        assert rank["losses"] == pytest.approx(expected, rel=1e-10)
        for got, want in zip(rank["weights"], single.model.parameters()):
            assert torch.allclose(torch.tensor(got, dtype=torch.float64), want.detach().flatten(), rtol=1e-9, atol=1e-12)


# ----- CUDA ----------------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_uses_bf16_autocast_and_learns():
    model = tiny_model().cuda()
    trainer = Trainer(model, windows(batch_size=16), config(max_steps=30, warmup_steps=3, lr=1e-2))
    assert trainer.device.type == "cuda" and trainer.autocast_dtype == torch.bfloat16
    dtypes = []
    model.lm_head.register_forward_hook(lambda module, args, output: dtypes.append(output.dtype))
    losses = trainer.train()["loss"]
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)  # the matmuls ran in bf16
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights stay float32
    assert all(math.isfinite(x) for x in losses) and sum(losses[-5:]) < sum(losses[:5])
