"""The training loop, in one place: every step a learner will meet in a real pretraining script.

One optimizer step (``Trainer.train_step``):

1. draw a batch from the data source and cut it into ``accumulation_steps`` micro-batches;
2. for each micro-batch: forward (in bf16 autocast on CUDA), loss / k, backward
   (gradients add up, so k micro-batches of B / k give the gradient of the whole batch);
3. clip the gradients so that their global norm is at most ``grad_clip``;
4. AdamW step, then the scheduler moves the learning rate to the next step's value.

Weight decay pulls weights towards zero. It applies to the matrices of the linear layers
only: biases and norm gains are single numbers per feature (decaying them only hurts), and
embedding rows are looked up rather than multiplied, so most rows see no gradient on a step
and would just shrink. ``weight_decay_groups`` sorts the parameters into the two groups.

**What the trainer asks of data and model.** A data source has a ``batch_size`` and a
``sample()`` that returns a tuple of tensors, each with the batch dimension first: for a GPT
``(inputs, targets)``, for BERT-style pretraining five tensors (see ``encoder_pretraining.py``).
The trainer cuts every tensor of the tuple the same way and calls ``model(*micro_batch)``,
which returns ``(output, loss)``. (The loss of each micro-batch is a mean; when micro-batches
hold different numbers of scored positions, as with masked tokens, the average of their means
is close to, not exactly, the mean over the whole batch.)

**Compiling** (``compile=True``): ``torch.compile`` turns the forward pass into fused kernels
the first time it runs (slow once, faster afterwards; on the CPU it needs a C++ compiler such
as g++). The compiled module shares its weights
with the plain one, and checkpoints hold the plain module's weights, so a run saved with
compiling resumes without it and the other way round.

**Data parallel** (several processes started by ``torchrun``, after
``torch.distributed.init_process_group``): every process draws the same global batch (the
samplers share a seed) and keeps its own 1/W share of the rows. DistributedDataParallel
averages the gradients across processes during backward, so each process takes the very
step that one process would take on the whole batch.

Every ``eval_every`` steps the model is scored on held-out windows: validation loss and its
exponential, the perplexity (how many tokens the model is, on average, as unsure as a
uniform choice among). These are ``eval_batches`` sampled batches (the same ones each time):
a cheap estimate that works for any data source. The loss of a whole held-out token stream,
every token scored once, is ``course_lib.evaluation.validation_loss``.
"""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from course_lib.device import autocast_dtype
from course_lib.optim.schedules import WarmupCosine, make_scheduler
from course_lib.training.checkpoint import load_checkpoint, save_checkpoint


@dataclass
class TrainerConfig:
    max_steps: int = 100
    lr: float = 1e-3                  # the peak learning rate, reached after warmup
    warmup_steps: int = 10
    final_lr_factor: float = 0.1      # the cosine ends at lr * final_lr_factor
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0     # None: no clipping
    accumulation_steps: int = 1       # micro-batches per optimizer step
    eval_every: int = 0               # 0: never evaluate during training
    eval_batches: int = 4
    eval_seed: int = 1234             # every evaluation scores the same validation windows
    progress: bool = True             # show a tqdm progress bar
    compile: bool = False             # torch.compile the forward pass

    def __post_init__(self):
        for name in ("max_steps", "accumulation_steps", "eval_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        for name in ("warmup_steps", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
        if self.warmup_steps >= self.max_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} must be smaller than max_steps={self.max_steps}")
        if isinstance(self.eval_seed, bool) or not isinstance(self.eval_seed, int):
            raise TypeError(f"eval_seed: expected an int, got {self.eval_seed!r}")
        if not _is_number(self.lr) or not self.lr > 0:
            raise ValueError(f"lr: expected a number > 0, got {self.lr!r}")
        if not _is_number(self.final_lr_factor) or not 0 <= self.final_lr_factor <= 1:
            raise ValueError(f"final_lr_factor: expected a number in [0, 1], got {self.final_lr_factor!r}")
        if not _is_number(self.weight_decay) or not self.weight_decay >= 0:
            raise ValueError(f"weight_decay: expected a number >= 0, got {self.weight_decay!r}")
        betas = self.betas
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas: expected two numbers in [0, 1), like (0.9, 0.95), got {betas!r}")
        if self.grad_clip is not None and (not _is_number(self.grad_clip) or not self.grad_clip > 0):
            raise ValueError(f"grad_clip: expected a number > 0 or None, got {self.grad_clip!r}")
        for name in ("progress", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")


def _is_number(value) -> bool:
    """A finite real number (not a bool, not nan, not inf)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups for AdamW: matrices with ``weight_decay``; biases, norms, embeddings without."""
    embedding_params = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    decay, no_decay = [], []
    for param in model.parameters():  # each tensor once, even when tied (lm_head = token embedding)
        if not param.requires_grad:
            continue
        if param.ndim < 2 or id(param) in embedding_params:
            no_decay.append(param)  # biases and norm gains are 1-D; embedding tables are looked up
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    """Trains ``model`` on ``train_data`` (a source of batches, like ``TokenWindows``), optionally scoring ``val_data``."""

    def __init__(self, model: nn.Module, train_data, config: TrainerConfig | None = None,
                 val_data=None, device: torch.device | str | None = None):
        self.config = config or TrainerConfig()
        if not isinstance(self.config, TrainerConfig):
            raise TypeError(f"config: expected a TrainerConfig, got {type(self.config).__name__}")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        _check_data_source(train_data, "train_data", needs_batch_size=True)
        if val_data is not None:
            _check_data_source(val_data, "val_data", needs_batch_size=False)
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.train_data, self.val_data = train_data, val_data
        # Data parallel when torch.distributed is set up (torchrun), else one process.
        self.world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        self.rank = dist.get_rank() if self.world_size > 1 else 0
        k, W = self.config.accumulation_steps, self.world_size
        if train_data.batch_size % (k * W) != 0:
            raise ValueError(
                f"batch_size={train_data.batch_size} does not divide into accumulation_steps={k} equal "
                f"micro-batches" + (f" on each of {W} processes" if W > 1 else "") +
                f": pick a batch size that is a multiple of {k * W}"
            )
        # The module that runs forward and backward: the model itself, or its DDP wrapper whose
        # backward also averages the gradients across processes, possibly compiled. All of them
        # share the same weights; checkpoints save the plain model's.
        self.ddp = DistributedDataParallel(self.model) if W > 1 else None
        self.forward_model = self.ddp or self.model
        self.eval_model = self.model  # evaluation needs no gradient averaging
        if self.config.compile:
            self.forward_model = torch.compile(self.forward_model)
            self.eval_model = torch.compile(self.model)
        self.optimizer = torch.optim.AdamW(
            weight_decay_groups(model, self.config.weight_decay), lr=self.config.lr, betas=tuple(self.config.betas)
        )
        schedule = WarmupCosine(self.config.warmup_steps, self.config.max_steps, self.config.final_lr_factor)
        self.scheduler = make_scheduler(self.optimizer, schedule)
        self.autocast_dtype = autocast_dtype(self.device)  # bf16 on CUDA, None (float32) elsewhere
        self.step = 0                                      # optimizer steps taken
        self.tokens_last_step = 0                          # size of the last batch's first tensor (B * T)
        self.history: dict[str, list] = {"loss": [], "lr": [], "val_step": [], "val_loss": [], "val_perplexity": []}

    # ----- one optimizer step ----------------------------------------------------------------
    def train_step(self) -> float:
        """One optimizer step on one batch; returns the batch's mean loss."""
        self.model.train()
        k, W = self.config.accumulation_steps, self.world_size
        batch = _as_batch(self.train_data.sample(), "train_data", divisible_by=k * W)  # tensors (B, ...)
        self.tokens_last_step = batch[0].numel()                                      # B * T for token ids
        if W > 1:  # every process drew the same batch; keep this process's rows of each tensor
            batch = tuple(tensor.chunk(W)[self.rank] for tensor in batch)              # (B / W, ...) each
        batch = tuple(tensor.to(self.device) for tensor in batch)
        # k micro-batches, each a tuple with one (B / (W k), ...) slice of every tensor.
        micro_batches = list(zip(*(tensor.chunk(k) for tensor in batch)))
        batch_loss = 0.0
        for i, micro_batch in enumerate(micro_batches):
            # With DDP, average the gradients across processes once, on the last micro-batch.
            last = i == k - 1
            no_sync = self.ddp.no_sync() if self.ddp is not None and not last else nullcontext()
            with no_sync:
                with self._autocast():
                    loss = _loss_of(self.forward_model(*micro_batch))
                # Each micro-batch holds 1/k of the rows: scaling by 1/k makes the summed
                # gradients the gradient of the mean loss over the whole batch.
                (loss / k).backward()
            batch_loss += loss.item() / k
        if W > 1:  # report the loss of the whole global batch, the same on every process
            total = torch.tensor(batch_loss, dtype=torch.float64, device=self.device)
            dist.all_reduce(total)
            batch_loss = total.item() / W
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.history["loss"].append(batch_loss)
        return batch_loss

    def _autocast(self):
        dtype = self.autocast_dtype
        return torch.autocast(self.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)

    # ----- the loop --------------------------------------------------------------------------
    def train(self, n_steps: int | None = None) -> dict[str, list]:
        """Train ``n_steps`` more steps (default: up to ``max_steps``); return the history."""
        end = self.config.max_steps if n_steps is None else min(self.config.max_steps, self.step + n_steps)
        bar = tqdm(range(self.step, end), desc="training", disable=not self.config.progress or self.rank != 0,
                   initial=self.step, total=self.config.max_steps)
        for _ in bar:
            started = time.perf_counter()
            loss = self.train_step()
            tokens_per_second = self.tokens_last_step / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_second:,.0f}")
            # Evaluate every eval_every steps and at the very end (not where a run is merely paused,
            # so that a paused and resumed run evaluates at the same steps as one that never paused).
            if self.config.eval_every and (self.step % self.config.eval_every == 0 or self.step == self.config.max_steps):
                self.evaluate()
        bar.close()
        return self.history

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean loss and perplexity on ``eval_batches`` validation batches (the same ones each time)."""
        if self.val_data is None:
            raise ValueError("no validation data: pass val_data to the Trainer to evaluate")
        self.model.eval()
        generator = torch.Generator().manual_seed(self.config.eval_seed)
        losses = []
        for _ in range(self.config.eval_batches):
            batch = _as_batch(self.val_data.sample(generator=generator), "val_data")  # tensors (B, ...)
            batch = tuple(tensor.to(self.device) for tensor in batch)
            with self._autocast():
                losses.append(_loss_of(self.eval_model(*batch)).item())
        self.model.train()
        val_loss = sum(losses) / len(losses)
        result = {"val_loss": val_loss, "val_perplexity": math.exp(val_loss)}
        self.history["val_step"].append(self.step)
        self.history["val_loss"].append(val_loss)
        self.history["val_perplexity"].append(result["val_perplexity"])
        return result

    # ----- checkpoints -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Save everything needed to continue this run exactly (see ``checkpoint.py``).

        With several processes only the first one writes (they all hold the same weights).
        """
        for method in ("state_dict", "load_state_dict"):
            if not callable(getattr(self.train_data, method, None)):
                raise TypeError(f"train_data ({type(self.train_data).__name__}) has no {method}() method, so a "
                                f"checkpoint could not resume its batches exactly: give the data source "
                                f"state_dict() and load_state_dict() (as TokenWindows has)")
        if self.rank == 0:
            save_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                            step=self.step, data_state=self.train_data.state_dict(), history=self.history)
        if self.world_size > 1:
            dist.barrier()  # no process reads the file before it is complete

    def resume(self, path) -> None:
        """Continue from a checkpoint written by ``save``: weights, optimizer, schedule, data, randomness."""
        state = load_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                                data=self.train_data)
        self.step = state["step"]
        self.history = {key: list(values) for key, values in state["history"].items()}


# ----- what the trainer checks about data and model ------------------------------------------------
def _check_data_source(data, name: str, needs_batch_size: bool) -> None:
    """A data source has a ``sample()`` method (and, to train on, an int ``batch_size``)."""
    if not callable(getattr(data, "sample", None)):
        raise TypeError(f"{name}: expected a data source with a sample() method that returns a tuple of "
                        f"tensors (like TokenWindows), got {type(data).__name__}")
    if needs_batch_size:
        batch_size = getattr(data, "batch_size", None)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise TypeError(f"{name}: expected a data source with an int batch_size >= 1 (rows per sample()), "
                            f"got batch_size={batch_size!r} on {type(data).__name__}")


def _as_batch(batch, name: str, divisible_by: int = 1) -> tuple[torch.Tensor, ...]:
    """Check that ``sample()`` gave a non-empty tuple of tensors sharing the batch dimension B."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or not batch or not all(isinstance(t, torch.Tensor) for t in batch):
        got = type(batch).__name__ if not isinstance(batch, tuple) else f"({', '.join(type(t).__name__ for t in batch)})"
        raise TypeError(f"{name}.sample(): expected a tuple of tensors with the batch first, like (inputs, targets), "
                        f"got {got}")
    sizes = [tuple(t.shape) for t in batch]
    if any(len(s) == 0 for s in sizes) or len({s[0] for s in sizes}) != 1:
        raise ValueError(f"{name}.sample(): every tensor must have the same batch size in its first dimension, "
                         f"got shapes {sizes}")
    if sizes[0][0] % divisible_by != 0:
        raise ValueError(f"{name}.sample(): a batch of {sizes[0][0]} rows does not divide into {divisible_by} equal "
                         f"micro-batches (accumulation_steps x processes)")
    return batch


def _loss_of(result) -> torch.Tensor:
    """The loss from a model's ``(output, loss)``, with a clear error if it is missing or not a number."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"the model must return (output, loss) when called on a batch, got {type(result).__name__}")
    loss = result[1]
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"the model returned loss={loss!r:.80}: it must compute a single-number loss from the "
                         f"batch's targets (did sample() return the targets?)")
    return loss
