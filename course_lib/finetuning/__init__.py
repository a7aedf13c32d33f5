"""Fine-tuning (lesson 05): turn the pretrained story writer into a specialist.

Read in this order:

1. ``tasks.py``           task data made by code: instructions with a checker, texts with labels;
2. ``chat.py``            the chat format and the loss mask (train the answer and <|end|> only);
3. ``sft.py``             supervised fine-tuning on the Trainer; follow rate, stop rate, diversity;
4. ``classification.py``  last-token and mean pooling, a classifier head, probes by layer and position;
5. ``forgetting.py``      the pretraining loss before and after: what fine-tuning cost;
   ``counting.py``        how many numbers a method trains (tied weights once);
6. ``lora.py``            LoRA: a low-rank update beside frozen weights; merge, unmerge, switch off;
7. ``adapters.py``        bottleneck adapters after frozen sublayers;
8. ``prompt_tuning.py``   a few learned input vectors in front of a frozen model;
9. ``instruct_model.py``  the shipped instruction-tuned model (``llmcourse finetune`` rebuilds it).
"""
from course_lib.finetuning.adapters import BottleneckAdapter, add_adapters, adapters_disabled
from course_lib.finetuning.chat import (
    CHAT_TOKENS,
    ChatBatches,
    ChatExample,
    build_chat_example,
    chat_token_ids,
    collate_chat,
    prompt_ids,
    render_mask,
)
from course_lib.finetuning.classification import (
    LabelledBatches,
    SequenceClassifier,
    classify,
    encode_texts,
    last_token_states,
    layer_states,
    mean_pool,
    probe_accuracy,
)
from course_lib.finetuning.counting import count_trainable, trainable_share
from course_lib.finetuning.forgetting import pretraining_ids, pretraining_loss
from course_lib.finetuning.lora import (
    LoRALinear,
    add_lora,
    linear_layer_names,
    lora_disabled,
    merge_lora,
    unmerge_lora,
)
from course_lib.finetuning.prompt_tuning import SoftPromptModel
from course_lib.finetuning.sft import (
    ReplayBatches,
    answer_prompts,
    evaluate_instructions,
    instruction_metrics,
    sft_trainer,
)
from course_lib.finetuning.tasks import (
    WriteExample,
    day_end_examples,
    follows_instruction,
    write_examples,
)

__all__ = [
    "BottleneckAdapter", "CHAT_TOKENS", "ChatBatches", "ChatExample", "LabelledBatches", "LoRALinear",
    "ReplayBatches", "SequenceClassifier", "SoftPromptModel", "WriteExample", "adapters_disabled", "add_adapters",
    "add_lora",
    "answer_prompts", "build_chat_example", "chat_token_ids", "classify", "collate_chat", "count_trainable",
    "day_end_examples", "encode_texts", "evaluate_instructions", "follows_instruction", "instruction_metrics",
    "last_token_states", "layer_states", "linear_layer_names", "lora_disabled", "mean_pool", "merge_lora",
    "pretraining_ids", "pretraining_loss", "probe_accuracy", "prompt_ids", "render_mask", "sft_trainer", "trainable_share", "unmerge_lora",
    "write_examples",
]
