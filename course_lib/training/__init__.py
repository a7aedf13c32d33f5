"""Training: the loop, its checkpoints, and BERT-style pretraining. Read them in this order:

trainer.py              the Trainer: AdamW with decay groups, warmup + cosine, clipping, accumulation,
                        mixed precision on CUDA, torch.compile, periodic evaluation, a progress bar
                        and a loss history; batches are any tuple of tensors
checkpoint.py           saving and resuming a run so that it continues exactly as if never stopped
encoder_pretraining.py  masked-language-model and next-sentence batches, and the BERT model that
                        learns from both
"""
from course_lib.training.checkpoint import (
           check_compatible,
           load_checkpoint,
           read_checkpoint,
           save_checkpoint,
)
from course_lib.training.encoder_pretraining import (
           BertForPretraining,
           MaskedLMWindows,
           SentencePairBatches,
)
from course_lib.training.trainer import Trainer, TrainerConfig, weight_decay_groups

__all__ = ["BertForPretraining", "MaskedLMWindows", "SentencePairBatches", "Trainer", "TrainerConfig",
           "check_compatible", "load_checkpoint", "read_checkpoint", "save_checkpoint", "weight_decay_groups"]
