"""The training loop, in one place: every step a learner will meet in a real pretraining script.

One optimizer step (``Trainer.train_step``):

1. draw a batch of B windows and cut it into ``accumulation_steps`` micro-batches;
2. for each micro-batch: forward (in bf16 autocast on CUDA), loss / k, backward
   (gradients add up, so k micro-batches of B / k give the gradient of the whole batch);
3. clip the gradients so that their global norm is at most ``grad_clip``;
4. AdamW step, then the scheduler moves the learning rate to the next step's value.

Weight decay pulls weights towards zero. It applies to the matrices of the linear layers
only: biases and norm gains are single numbers per feature (decaying them only hurts), and
embedding rows are looked up rather than multiplied, so most rows see no gradient on a step
and would just shrink. ``weight_decay_groups`` sorts the parameters into the two groups.

**Data parallel** (several processes started by ``torchrun``, after
``torch.distributed.init_process_group``): every process draws the same global batch (the
samplers share a seed) and keeps its own 1/W share of the rows. DistributedDataParallel
averages the gradients across processes during backward, so each process takes the very
step that one process would take on the whole batch.

Every ``eval_every`` steps the model is scored on held-out windows: validation loss and its
exponential, the perplexity (how many tokens the model is, on average, as unsure as a
uniform choice among).
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
        if not self.lr > 0:
            raise ValueError(f"lr: expected a number > 0, got {self.lr!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip: expected a number > 0 or None, got {self.grad_clip!r}")


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
    """Trains ``model`` on ``train_data`` (a ``TokenWindows``), optionally scoring ``val_data``."""

    def __init__(self, model: nn.Module, train_data, config: TrainerConfig | None = None,
                 val_data=None, device: torch.device | str | None = None):
        self.config = config or TrainerConfig()
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
        # backward also averages the gradients across processes. Both share the same weights.
        self.forward_model = DistributedDataParallel(self.model) if W > 1 else self.model
        self.optimizer = torch.optim.AdamW(
            weight_decay_groups(model, self.config.weight_decay), lr=self.config.lr, betas=self.config.betas
        )
        schedule = WarmupCosine(self.config.warmup_steps, self.config.max_steps, self.config.final_lr_factor)
        self.scheduler = make_scheduler(self.optimizer, schedule)
        self.autocast_dtype = autocast_dtype(self.device)  # bf16 on CUDA, None (float32) elsewhere
        self.step = 0                                      # optimizer steps taken
        self.history: dict[str, list] = {"loss": [], "lr": [], "val_step": [], "val_loss": [], "val_perplexity": []}

    # ----- one optimizer step ----------------------------------------------------------------
    def train_step(self) -> float:
        """One optimizer step on one batch; returns the batch's mean loss."""
        self.model.train()
        k = self.config.accumulation_steps
        inputs, targets = self.train_data.sample()                       # (B, T), (B, T)
        if self.world_size > 1:  # every process drew the same batch; keep this process's rows
            inputs, targets = inputs.chunk(self.world_size)[self.rank], targets.chunk(self.world_size)[self.rank]
        inputs, targets = inputs.to(self.device), targets.to(self.device)  # (B / W, T) each
        batch_loss = 0.0
        micro_batches = list(zip(inputs.chunk(k), targets.chunk(k)))     # k pairs of (B / (W k), T)
        for i, (micro_inputs, micro_targets) in enumerate(micro_batches):
            # With DDP, average the gradients across processes once, on the last micro-batch.
            last = i == k - 1
            no_sync = self.forward_model.no_sync() if self.world_size > 1 and not last else nullcontext()
            with no_sync:
                with self._autocast():
                    _, loss = self.forward_model(micro_inputs, micro_targets)
                # Each micro-batch holds 1/k of the windows: scaling by 1/k makes the summed
                # gradients the gradient of the mean loss over the whole batch.
                (loss / k).backward()
            batch_loss += loss.item() / k
        if self.world_size > 1:  # report the loss of the whole global batch, the same on every process
            total = torch.tensor(batch_loss, dtype=torch.float64, device=self.device)
            dist.all_reduce(total)
            batch_loss = total.item() / self.world_size
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
        tokens_per_step = self.train_data.batch_size * self.train_data.context_length
        bar = tqdm(range(self.step, end), desc="training", disable=not self.config.progress or self.rank != 0,
                   initial=self.step, total=self.config.max_steps)
        for _ in bar:
            started = time.perf_counter()
            loss = self.train_step()
            tokens_per_second = tokens_per_step / max(time.perf_counter() - started, 1e-9)
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
            inputs, targets = self.val_data.sample(generator=generator)  # (B, T), (B, T)
            inputs, targets = inputs.to(self.device), targets.to(self.device)
            with self._autocast():
                _, loss = self.model(inputs, targets)
            losses.append(loss.item())
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
