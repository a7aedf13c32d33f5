"""Training: the loop and its checkpoints. Read them in this order:

trainer.py      the Trainer: AdamW with decay groups, warmup + cosine, clipping, accumulation,
                mixed precision on CUDA, periodic evaluation, a progress bar and a loss history
checkpoint.py   saving and resuming a run so that it continues exactly as if never stopped
"""
from course_lib.training.checkpoint import (
           check_compatible,
           load_checkpoint,
           read_checkpoint,
           save_checkpoint,
)
from course_lib.training.trainer import Trainer, TrainerConfig, weight_decay_groups

__all__ = ["Trainer", "TrainerConfig", "check_compatible", "load_checkpoint", "read_checkpoint",
           "save_checkpoint", "weight_decay_groups"]
