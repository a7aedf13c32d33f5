"""BERT-style pretraining: masking statistics, sentence-pair layout, the model against hand computations,
and a tiny model that learns both tasks with the Trainer."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import stories
from course_lib.data.sentences import split_sentences
from course_lib.objectives import IGNORE_INDEX
from course_lib.tokenization import BPETokenizer, CharTokenizer
from course_lib.training import Trainer, TrainerConfig
from course_lib.training.encoder_pretraining import (
    BertForPretraining,
    MaskedLMWindows,
    SentencePairBatches,
    mask_every_row,
    truncate_pair,
)
from course_lib.transformer import Encoder, GPTConfig

SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]"]


def within(observed: float, expected: float, n: int, sigmas: float = 4.0) -> bool:
    """Whether a fraction observed over n independent draws is within `sigmas` standard errors."""
    return abs(observed - expected) <= sigmas * math.sqrt(expected * (1 - expected) / n)


# ----- MLM windows ---------------------------------------------------------------------------------------
VOCAB, SPECIAL_IDS, MASK_ID = 40, (0, 1, 2), 3   # ids 4..39 are ordinary
_rng = torch.Generator().manual_seed(0)
STREAM = torch.randint(4, VOCAB, (5000,), generator=_rng)
STREAM[torch.rand(5000, generator=_rng) < 0.1] = 1  # 10% of the stream is a special token


def mlm_windows(batch_size=16, seed=0, context_length=64):
    return MaskedLMWindows(STREAM, context_length, batch_size, mask_id=MASK_ID, vocab_size=VOCAB,
                           special_ids=SPECIAL_IDS, seed=seed)


def test_masking_statistics_over_many_draws():
    data = mlm_windows(batch_size=64)
    n_ordinary = n_chosen = n_masked = n_random = n_kept = 0
    for _ in range(40):  # 40 x 64 x 64 = 163,840 positions
        masked, labels = data.sample()                                   # (B, T) each
        chosen = labels != IGNORE_INDEX                                  # (B, T)
        # where nothing was chosen the input is the original token, so labels give back every original
        original = torch.where(chosen, labels, masked)                   # (B, T)
        special = torch.isin(original, torch.tensor(SPECIAL_IDS))
        assert not (chosen & special).any()                              # specials are never chosen
        assert torch.equal(masked[~chosen], original[~chosen])           # nothing else is touched
        assert not torch.isin(masked[chosen & (masked != MASK_ID) & (masked != original)],
                              torch.tensor(SPECIAL_IDS)).any()           # random tokens are ordinary
        n_ordinary += int((~special).sum())
        n_chosen += int(chosen.sum())
        n_masked += int((chosen & (masked == MASK_ID)).sum())
        n_kept += int((chosen & (masked == original)).sum())
        n_random += int((chosen & (masked != MASK_ID) & (masked != original)).sum())
    assert n_masked + n_kept + n_random == n_chosen
    assert within(n_chosen / n_ordinary, 0.15, n_ordinary)
    # 10% become a random ordinary token; 1 time in 36 that draw is the original token itself
    p_same = 1 / (VOCAB - 4)
    assert within(n_masked / n_chosen, 0.8, n_chosen)
    assert within(n_random / n_chosen, 0.1 * (1 - p_same), n_chosen)
    assert within(n_kept / n_chosen, 0.1 + 0.1 * p_same, n_chosen)


def test_every_row_gets_at_least_one_token_to_predict():
    # 4 tokens a row: nothing would be chosen in a row 0.85^4 = 52% of the time without the redraw
    ids = torch.randint(4, VOCAB, (200, 4), generator=torch.Generator().manual_seed(1))
    ids[0] = 1                                           # a row of special tokens only: nothing to choose
    masked, labels = mask_every_row(ids, SPECIAL_IDS, torch.Generator().manual_seed(2), mask_id=MASK_ID,
                                    vocab_size=VOCAB)
    assert ((labels != IGNORE_INDEX).sum(dim=1)[1:] >= 1).all()
    assert (labels[0] == IGNORE_INDEX).all() and torch.equal(masked[0], ids[0])


def test_mlm_windows_resume_exactly_from_their_state():
    data = mlm_windows()
    for _ in range(3):
        data.sample()
    state = copy.deepcopy(data.state_dict())
    expected = [data.sample() for _ in range(3)]
    other = mlm_windows(seed=99)
    other.load_state_dict(state)
    for want in expected:
        got = other.sample()
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    with pytest.raises(ValueError, match="context_length=64, these windows have context_length=32"):
        mlm_windows(context_length=32).load_state_dict(state)


def test_an_encoder_trained_on_mlm_windows_resumes_exactly(tmp_path):
    def run():
        torch.manual_seed(0)
        model = Encoder(GPTConfig(vocab_size=VOCAB, context_length=32, n_layers=1, n_heads=2, d_model=16))
        return Trainer(model, mlm_windows(batch_size=8, context_length=32),
                       TrainerConfig(max_steps=6, warmup_steps=1, progress=False))

    whole = run().train()
    first = run()
    first.train(n_steps=3)
    first.save(tmp_path / "mlm.pt")
    torch.manual_seed(5)
    second = run()
    second.train_data = mlm_windows(batch_size=8, context_length=32, seed=7)  # another seed: the file decides
    second.resume(tmp_path / "mlm.pt")
    assert second.train()["loss"] == whole["loss"]


def test_bad_mlm_settings_are_errors():
    with pytest.raises(ValueError, match="mask_id=40 is not a token id"):
        MaskedLMWindows(STREAM, 16, 4, mask_id=40, vocab_size=VOCAB)
    with pytest.raises(ValueError, match="found id 39, expected ids below vocab_size=30"):
        MaskedLMWindows(STREAM, 16, 4, mask_id=3, vocab_size=30)
    with pytest.raises(ValueError, match="batch_size: expected a positive int"):
        MaskedLMWindows(STREAM, 16, 0, mask_id=3, vocab_size=VOCAB)


# ----- sentence pairs ------------------------------------------------------------------------------------
# Distinct sentences, so each one's place in the list is known.
NUMBERED = [f"Sentence {w} number {i} is here." for i, w in enumerate(["one", "two", "three"] * 20)]


@pytest.fixture(scope="module")
def char_tokenizer():
    return CharTokenizer().train(" ".join(NUMBERED), vocab_size=300, special_tokens=SPECIALS)


def pair_batches(tokenizer, sentences=NUMBERED, context_length=80, batch_size=16, seed=0):
    ids = tokenizer.special_tokens
    return SentencePairBatches(sentences, tokenizer, context_length, batch_size, cls_id=ids["[CLS]"],
                               sep_id=ids["[SEP]"], pad_id=ids["[PAD]"], mask_id=ids["[MASK]"], seed=seed)


def test_pairs_are_laid_out_as_cls_a_sep_b_sep_then_padding(char_tokenizer):
    tok = char_tokenizer
    CLS, SEP, PAD = (tok.special_tokens[s] for s in ("[CLS]", "[SEP]", "[PAD]"))
    index = {s: i for i, s in enumerate(NUMBERED)}
    seen_labels = []
    for _ in range(10):
        ids, segment_ids, padding_mask, mlm_labels, nsp_labels = pair_batches(tok).sample()
        assert ids.shape == segment_ids.shape == padding_mask.shape == mlm_labels.shape == (16, 80)
        assert nsp_labels.shape == (16,) and padding_mask.dtype == torch.bool
        assert int(nsp_labels.sum()) == 8  # exactly half true pairs in every batch
        original = torch.where(mlm_labels != IGNORE_INDEX, mlm_labels, ids)
        for row in range(16):
            tokens = original[row].tolist()
            n = int(padding_mask[row].sum())
            assert padding_mask[row, :n].all() and not padding_mask[row, n:].any()  # real tokens, then padding
            assert tokens[0] == CLS and tokens[n - 1] == SEP and tokens[n:] == [PAD] * (80 - n)
            first_sep = tokens.index(SEP)
            a, b = tok.decode(tokens[1:first_sep]), tok.decode(tokens[first_sep + 1: n - 1])
            assert segment_ids[row].tolist() == [0] * (first_sep + 1) + [1] * (n - first_sep - 1) + [0] * (80 - n)
            # a true pair is a sentence and the one after it; a random pair is not
            assert (index[b] == index[a] + 1) == bool(nsp_labels[row])
            seen_labels.append(int(nsp_labels[row]))
            # the special positions and the padding are never chosen for MLM
            special = torch.tensor([t in (CLS, SEP, PAD) for t in tokens])
            assert (mlm_labels[row][special] == IGNORE_INDEX).all()
    assert sum(seen_labels) == len(seen_labels) // 2


def test_pair_masking_chooses_15_percent_of_the_sentence_tokens(char_tokenizer):
    data = pair_batches(char_tokenizer, batch_size=64)
    n_ordinary = n_chosen = 0
    for _ in range(20):
        _, _, padding_mask, mlm_labels, _ = data.sample()
        chosen = mlm_labels != IGNORE_INDEX
        n_ordinary += int(padding_mask.sum()) - 3 * 64  # real tokens minus [CLS] and two [SEP] per row
        n_chosen += int(chosen.sum())
        assert not (chosen & ~padding_mask).any()
    assert within(n_chosen / n_ordinary, 0.15, n_ordinary)


def test_long_pairs_are_cut_from_the_longer_sentence(char_tokenizer):
    assert truncate_pair([1] * 10, [2] * 3, 8) == ([1] * 5, [2] * 3)
    assert truncate_pair([1] * 6, [2] * 6, 8) == ([1] * 4, [2] * 4)
    assert truncate_pair([1, 2], [3], 8) == ([1, 2], [3])
    ids, _, padding_mask, _, _ = pair_batches(char_tokenizer, context_length=20).sample()
    assert padding_mask.all()  # every pair of ~28-character sentences fills all 20 positions
    assert ids.shape == (16, 20)


def test_sentence_pairs_resume_exactly(char_tokenizer):
    data = pair_batches(char_tokenizer)
    data.sample()
    state = copy.deepcopy(data.state_dict())
    want = data.sample()
    other = pair_batches(char_tokenizer, seed=5)
    other.load_state_dict(state)
    assert all(torch.equal(g, w) for g, w in zip(other.sample(), want))
    with pytest.raises(ValueError, match="n_sentences=60, these batches have n_sentences=59"):
        pair_batches(char_tokenizer, sentences=NUMBERED[:-1]).load_state_dict(state)


def test_bad_pair_settings_are_errors(char_tokenizer):
    with pytest.raises(ValueError, match="need at least 3 sentences"):
        pair_batches(char_tokenizer, sentences=NUMBERED[:2])
    with pytest.raises(ValueError, match="context_length=4: a pair needs at least 5 positions"):
        pair_batches(char_tokenizer, context_length=4)
    with pytest.raises(ValueError, match="have no tokens"):
        pair_batches(char_tokenizer, sentences=["One.", "", "Three."])
    with pytest.raises(TypeError, match="tokenizer: expected a course_lib Tokenizer"):
        SentencePairBatches(NUMBERED, "chars", 16, 4, 1, 2, 3, 4)


# ----- the model -----------------------------------------------------------------------------------------
V, T_MODEL = 30, 12


def tiny_bert(seed=0, **changes) -> BertForPretraining:
    torch.manual_seed(seed)
    config = GPTConfig(**{"vocab_size": V, "context_length": T_MODEL, "n_layers": 2, "n_heads": 2,
                          "d_model": 16, **changes})
    return BertForPretraining(config).double()


def random_batch(B=4, T=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(V, (B, T), generator=g)
    segment_ids = (torch.arange(T) >= T // 2).long().expand(B, T)
    mlm_labels = torch.where(torch.rand(B, T, generator=g) < 0.3, ids, IGNORE_INDEX)
    mlm_labels[:, 0] = ids[:, 0]  # at least one chosen per row
    nsp_labels = torch.randint(2, (B,), generator=g)
    return ids, segment_ids, mlm_labels, nsp_labels


def test_losses_equal_cross_entropies_by_hand():
    model = tiny_bert()
    ids, segment_ids, mlm_labels, nsp_labels = random_batch()
    (mlm_logits, nsp_logits), loss = model(ids, segment_ids, None, mlm_labels, nsp_labels)
    assert mlm_logits.shape == (4, 10, V) and nsp_logits.shape == (4, 2)
    chosen = mlm_labels != IGNORE_INDEX
    mlm_by_hand = F.cross_entropy(mlm_logits[chosen], mlm_labels[chosen])  # only the chosen positions
    log_probs = nsp_logits - nsp_logits.logsumexp(dim=1, keepdim=True)       # (B, 2) log-softmax written out
    nsp_by_hand = -log_probs[torch.arange(4), nsp_labels].mean()
    assert loss.item() == pytest.approx((mlm_by_hand + nsp_by_hand).item(), rel=1e-12)
    assert model(ids, segment_ids, None, mlm_labels)[1].item() == pytest.approx(mlm_by_hand.item(), rel=1e-12)
    assert model(ids, segment_ids, None, None, nsp_labels)[1].item() == pytest.approx(nsp_by_hand.item(), rel=1e-12)
    assert model(ids, segment_ids)[1] is None
    # a batch with nothing chosen scores 0 for MLM instead of nan
    nothing = torch.full_like(mlm_labels, IGNORE_INDEX)
    assert model(ids, segment_ids, None, nothing)[1].item() == 0.0


def test_the_mlm_head_is_tied_to_the_token_embedding():
    model = tiny_bert(tie_weights=False)  # tied whatever the config says
    embedding = model.encoder.token_embedding.weight
    assert model.encoder.lm_head.weight is embedding
    ids, segment_ids, mlm_labels, _ = random_batch()
    (mlm_logits, _), loss = model(ids, segment_ids, None, mlm_labels)
    hidden = model.features(ids, segment_ids)                                     # (B, T, C)
    by_hand = model.mlm_transform(hidden) @ embedding.T + model.mlm_bias          # (B, T, V)
    assert torch.allclose(mlm_logits, by_hand, rtol=1e-12, atol=1e-12)
    names = [name for name, _ in model.named_parameters()]
    assert not any("lm_head" in name for name in names)  # one matrix, counted once
    loss.backward()
    assert embedding.grad is not None and embedding.grad.abs().sum() > 0


def test_padding_does_not_change_the_real_tokens_outputs():
    model = tiny_bert().eval()
    ids, segment_ids, _, _ = random_batch(B=1, T=7)
    (mlm_plain, nsp_plain), _ = model(ids, segment_ids)
    # the same sequence padded to 12 with arbitrary ids, the padding masked out
    padded_ids = torch.cat([ids, torch.tensor([[5, 17, 2, 9, 29]])], dim=1)           # (1, 12)
    padded_segments = torch.cat([segment_ids, torch.tensor([[0, 1, 0, 1, 1]])], dim=1)  # (1, 12)
    padding_mask = torch.arange(12)[None, :] < 7                                     # (1, 12)
    (mlm_padded, nsp_padded), _ = model(padded_ids, padded_segments, padding_mask)
    assert torch.allclose(mlm_padded[:, :7], mlm_plain, rtol=1e-10, atol=1e-12)
    assert torch.allclose(nsp_padded, nsp_plain, rtol=1e-10, atol=1e-12)
    # without the mask the padding leaks into the real tokens: the mask is what makes them equal
    (mlm_leaky, _), _ = model(padded_ids, padded_segments)
    assert not torch.allclose(mlm_leaky[:, :7], mlm_plain, atol=1e-6)


def test_segment_ids_change_the_outputs():
    model = tiny_bert().eval()
    ids, segment_ids, _, _ = random_batch()
    (mlm_a, nsp_a), _ = model(ids, segment_ids)
    (mlm_b, nsp_b), _ = model(ids, 1 - segment_ids)
    assert (mlm_a - mlm_b).abs().max() > 1e-4 and (nsp_a - nsp_b).abs().max() > 1e-6
    (mlm_none, _), _ = model(ids)
    (mlm_zeros, _), _ = model(ids, torch.zeros_like(ids))
    assert torch.equal(mlm_none, mlm_zeros)  # no segment ids: everything is sentence a


def test_bad_model_inputs_are_errors():
    model = tiny_bert()
    ids, segment_ids, mlm_labels, nsp_labels = random_batch()
    with pytest.raises(ValueError, match=r"segment_ids: expected shape \(B, T\) = \(4, 10\)"):
        model(ids, segment_ids[:, :5])
    with pytest.raises(ValueError, match=r"nsp_labels: expected shape \(B,\) = \(4,\), got \(4, 1\)"):
        model(ids, segment_ids, None, None, nsp_labels[:, None])
    with pytest.raises(ValueError, match=r"mlm_labels: expected shape \(B, T\) = \(4, 10\)"):
        model(ids, segment_ids, None, mlm_labels[:, :3])
    with pytest.raises(ValueError, match="context_length=12"):
        model(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(TypeError, match="expected a GPTConfig"):
        BertForPretraining({"vocab_size": 30})


# ----- a tiny BERT learns both tasks -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def story_pairs():
    text = stories(400, seed=0)
    sentences = split_sentences(text)
    tokenizer = BPETokenizer("gpt4").train(text, vocab_size=512, special_tokens=SPECIALS)
    n_train = int(0.9 * len(sentences))  # the last stories are held out
    ids = {s: tokenizer.special_tokens[s] for s in SPECIALS}
    options = {"tokenizer": tokenizer, "context_length": 32, "cls_id": ids["[CLS]"], "sep_id": ids["[SEP]"],
               "pad_id": ids["[PAD]"], "mask_id": ids["[MASK]"]}
    train = SentencePairBatches(sentences[:n_train], batch_size=32, seed=0, **options)
    held_out = SentencePairBatches(sentences[n_train:], batch_size=1024, seed=1, **options).sample()
    return tokenizer, train, held_out


def held_out_scores(model, batch):
    """MLM loss, NSP loss and NSP accuracy on a held-out batch."""
    ids, segment_ids, padding_mask, mlm_labels, nsp_labels = batch
    model.eval()
    with torch.no_grad():
        (mlm_logits, nsp_logits), _ = model(ids, segment_ids, padding_mask)
    model.train()
    return (BertForPretraining.mlm_loss(mlm_logits, mlm_labels).item(),
            F.cross_entropy(nsp_logits, nsp_labels).item(),
            (nsp_logits.argmax(dim=1) == nsp_labels).double().mean().item())


def test_a_tiny_bert_learns_masked_tokens_and_next_sentences(story_pairs, one_thread, tmp_path):
    tokenizer, train, held_out = story_pairs
    torch.manual_seed(0)
    model = tiny_bert_like(tokenizer)
    mlm_before, nsp_before, _ = held_out_scores(model, held_out)
    trainer = Trainer(model, train, TrainerConfig(max_steps=300, lr=3e-3, warmup_steps=10, final_lr_factor=1.0,
                                                  progress=False))
    losses = trainer.train()["loss"]
    mlm_after, nsp_after, nsp_accuracy = held_out_scores(model, held_out)
    print(f"held out: MLM {mlm_before:.3f} -> {mlm_after:.3f}, NSP {nsp_before:.3f} -> {nsp_after:.3f}, "
          f"NSP accuracy {nsp_accuracy:.3f}; training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    assert mlm_before == pytest.approx(math.log(tokenizer.vocab_size), abs=0.3)  # guessing among 512 tokens
    assert mlm_after < 0.5 * mlm_before
    assert nsp_after < min(nsp_before, math.log(2)) - 0.02
    # chance is 50%; with 1024 held-out pairs one standard error is 1.6 points, so 58% is 5 of them
    assert nsp_accuracy > 0.58
    assert sum(losses[-20:]) < 0.5 * sum(losses[:20])
    # the checkpoint of a BERT run resumes like any other
    trainer.save(tmp_path / "bert.pt")
    resumed = Trainer(tiny_bert_like(tokenizer), copy.deepcopy(train), TrainerConfig(max_steps=300, warmup_steps=10))
    resumed.resume(tmp_path / "bert.pt")
    assert resumed.step == 300 and held_out_scores(resumed.model, held_out) == (mlm_after, nsp_after, nsp_accuracy)


def tiny_bert_like(tokenizer) -> BertForPretraining:
    return BertForPretraining(GPTConfig(vocab_size=tokenizer.vocab_size, context_length=32, n_layers=2,
                                        n_heads=4, d_model=64))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bert_trains_on_cuda_under_bf16_autocast(story_pairs):
    tokenizer, train, _ = story_pairs
    torch.manual_seed(0)
    model = tiny_bert_like(tokenizer).cuda()
    trainer = Trainer(model, copy.deepcopy(train), TrainerConfig(max_steps=40, lr=3e-3, warmup_steps=5, progress=False))
    assert trainer.device.type == "cuda" and trainer.autocast_dtype == torch.bfloat16
    losses = trainer.train()["loss"]
    assert all(math.isfinite(x) for x in losses) and sum(losses[-5:]) < sum(losses[:5])
    assert all(p.dtype == torch.float32 for p in model.parameters())
