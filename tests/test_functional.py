"""course_lib.functional against torch's own softmax, log_softmax and cross_entropy."""
import pytest
import torch
import torch.nn.functional as F

from course_lib import functional as cf


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("shape, dim", [((5,), -1), ((4, 7), -1), ((4, 7), 0), ((2, 3, 6), 1), ((2, 3, 6), -1)])
def test_softmax_and_log_softmax_match_torch(gen, shape, dim):
    x = torch.randn(*shape, generator=gen, dtype=torch.float64) * 5
    torch.testing.assert_close(cf.softmax(x, dim), torch.softmax(x, dim))
    torch.testing.assert_close(cf.log_softmax(x, dim), torch.log_softmax(x, dim))


def test_softmax_is_stable_for_huge_and_tiny_scores():
    x = torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0], [1000.0, -1000.0, 0.0]])
    p = cf.softmax(x)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, torch.softmax(x, -1))
    # rows that differ by a constant give the same probabilities
    torch.testing.assert_close(p[0], p[1])
    lp = cf.log_softmax(x)
    assert torch.isfinite(lp).all()
    torch.testing.assert_close(lp, torch.log_softmax(x, -1))
    assert lp[2, 1].item() == pytest.approx(-2000.0)  # log(softmax) would have given -inf here


def test_softmax_keeps_dtype_and_does_not_modify_input():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    before = x.clone()
    assert cf.softmax(x).dtype == torch.float64
    assert torch.equal(x, before)


def test_softmax_gradient_matches_torch(gen):
    x = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    (g_ours,) = torch.autograd.grad((cf.softmax(x) * w).sum(), x)
    (g_torch,) = torch.autograd.grad((torch.softmax(x, -1) * w).sum(), x)
    torch.testing.assert_close(g_ours, g_torch)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(gen, reduction):
    logits = torch.randn(8, 5, generator=gen, dtype=torch.float64) * 3
    targets = torch.randint(5, (8,), generator=gen)
    torch.testing.assert_close(cf.cross_entropy(logits, targets, reduction),
                               F.cross_entropy(logits, targets, reduction=reduction))


def test_cross_entropy_for_sequences_and_extreme_scores(gen):
    logits = torch.randn(2, 3, 11, generator=gen, dtype=torch.float64)   # (B, T, V)
    targets = torch.randint(11, (2, 3), generator=gen)                   # (B, T)
    expected = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1), reduction="none").reshape(2, 3)
    torch.testing.assert_close(cf.cross_entropy(logits, targets, "none"), expected)
    extreme = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]])
    loss = cf.cross_entropy(extreme, torch.tensor([1, 1]), "none")
    torch.testing.assert_close(loss, torch.tensor([2000.0, 0.0]))
    torch.testing.assert_close(loss, F.cross_entropy(extreme, torch.tensor([1, 1]), reduction="none"))


def test_cross_entropy_ignore_index_matches_torch(gen):
    logits = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    targets = torch.tensor([0, -100, 3, 2, -100, 1])
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(cf.cross_entropy(logits, targets, reduction, ignore_index=-100),
                                   F.cross_entropy(logits, targets, reduction=reduction, ignore_index=-100))


def test_cross_entropy_gradient_matches_torch(gen):
    logits = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(3, (5,), generator=gen)
    (ours,) = torch.autograd.grad(cf.cross_entropy(logits, targets), logits)
    (theirs,) = torch.autograd.grad(F.cross_entropy(logits, targets), logits)
    torch.testing.assert_close(ours, theirs)
    # the textbook form of the gradient: (softmax - one_hot) / N
    expected = (torch.softmax(logits, -1) - F.one_hot(targets, 3)) / 5
    torch.testing.assert_close(ours, expected.detach())


@pytest.mark.parametrize("call, error, words", [
    (lambda: cf.softmax([1.0, 2.0]), TypeError, "torch.Tensor"),
    (lambda: cf.softmax(torch.tensor([1, 2])), TypeError, "floating-point"),
    (lambda: cf.softmax(torch.tensor(1.0)), ValueError, "0-d"),
    (lambda: cf.softmax(torch.zeros(2, 3), dim=2), ValueError, "dim"),
    (lambda: cf.log_softmax(torch.zeros(2, 0)), ValueError, "empty"),
    (lambda: cf.cross_entropy(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long)), ValueError, "expected shape (4,)"),
    (lambda: cf.cross_entropy(torch.zeros(4, 3), torch.zeros(4)), TypeError, "integer class indices"),
    (lambda: cf.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])), ValueError, "[0, 3), got 3"),
    (lambda: cf.cross_entropy(torch.zeros(2, 3), torch.tensor([-1, 0])), ValueError, "got -1"),
    (lambda: cf.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), "average"), ValueError, "reduction"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)
