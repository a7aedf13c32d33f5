"""Evaluating models, one idea per file. Read them in this order:

classification.py   confusion matrix; precision, recall, F1 (binary, macro, micro); ROC and AUC
                    (ties count half); the precision-recall curve; calibration (reliability
                    diagram, expected calibration error)
language_model.py   validation loss and perplexity weighted by tokens, sliding-window scoring of
                    long texts, bits per byte (the one home of the validation loss that the
                    scaling sweep and the pretrained model's card report)
multiple_choice.py  options scored by log-likelihood as evaluation harnesses do: the context and
                    the option encoded together, acc / acc_norm / per token; the letter format
bootstrap.py        confidence intervals for a score, by resampling the items
benchmarks.py       StoryMC: a multiple-choice set from the story grammar, with splits and
                    unanswerable items
sampling.py         pass@k (unbiased, numerically stable), majority vote, self-consistency
contamination.py    has the model seen the test set? n-gram overlap and min-k % probability
emergence.py        sudden "emergence" as an artefact of an exact-match metric
chain_of_thought.py addition written with its steps or as the answer only; exact match by digits,
                    greedy or by majority vote (self-consistency)
cot_model.py        the two shipped addition models (course_lib/assets/cot/), rebuilt by `llmcourse cot`;
                    import it from its module (it stands on course_lib.pretrained, which imports this package)
report_card.py      several models, the same benchmarks (StoryMC, instructions, stories loss), one row
                    each; import it from its module (it stands on course_lib.finetuning)

inputs.py holds the input checks they share.
"""
from course_lib.evaluation.benchmarks import KINDS, SPLITS, story_item, story_mc, story_mc_splits
from course_lib.evaluation.bootstrap import bootstrap_ci
from course_lib.evaluation.classification import (
    ReliabilityDiagram,
    average_precision,
    confusion_matrix,
    expected_calibration_error,
    precision_recall_curve,
    precision_recall_f1,
    reliability_diagram,
    roc_auc,
    roc_curve,
)
from course_lib.evaluation.contamination import (
    leaked_text,
    min_k_percent_log_prob,
    min_k_scores,
    ngram_overlap,
    training_ngrams,
)
from course_lib.evaluation.emergence import EmergenceCurves, emergence_curves, exact_match_from_per_token
from course_lib.evaluation.language_model import (
    TokenNLL,
    bits_per_byte,
    next_token_log_probs,
    sliding_window_nll,
    text_bits_per_byte,
    validation_loss,
    window_plan,
)
from course_lib.evaluation.multiple_choice import (
    LETTERS,
    NORMALISATIONS,
    ContinuationScore,
    LetterResult,
    MCItem,
    MCResult,
    choose,
    encode_pair,
    evaluate_letters,
    evaluate_multiple_choice,
    letter_log_probs,
    letter_prompt,
    loglikelihood,
    single_token_letters,
)
from course_lib.evaluation.sampling import majority_vote, pass_at_k, self_consistency_accuracy

__all__ = [
    "KINDS", "LETTERS", "NORMALISATIONS", "SPLITS", "ContinuationScore", "EmergenceCurves", "LetterResult",
    "MCItem", "MCResult", "ReliabilityDiagram", "TokenNLL", "average_precision", "bits_per_byte",
    "bootstrap_ci", "choose", "confusion_matrix", "emergence_curves", "encode_pair", "evaluate_letters",
    "evaluate_multiple_choice", "exact_match_from_per_token", "expected_calibration_error", "leaked_text",
    "letter_log_probs", "letter_prompt", "loglikelihood", "majority_vote", "min_k_percent_log_prob",
    "min_k_scores", "next_token_log_probs", "ngram_overlap", "pass_at_k", "precision_recall_curve",
    "precision_recall_f1", "reliability_diagram", "roc_auc", "roc_curve", "self_consistency_accuracy",
    "single_token_letters", "sliding_window_nll", "story_item", "story_mc", "story_mc_splits",
    "text_bits_per_byte", "training_ngrams", "validation_loss", "window_plan",
]
