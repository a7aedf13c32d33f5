"""Learning-rate schedules against torch's schedulers; clipping against clip_grad_norm_."""
from __future__ import annotations

import math
import pickle
import warnings

import pytest
import torch
from torch.optim import lr_scheduler

from course_lib import optim

BASE_LR = 0.3


def lrs_of(make_torch_scheduler, n_steps):
    """The lr used by each of the first n_steps updates under a torch scheduler."""
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(p, lr=BASE_LR)
    sched = make_torch_scheduler(opt)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR warns about its own internals
        for _ in range(n_steps):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return seen


def assert_same(ours, ref):
    assert len(ours) == len(ref)
    for s, (a, b) in enumerate(zip(ours, ref)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {s}: ours {a}, torch {b}"


def check(schedule, make_torch_scheduler, n_steps):
    ref = lrs_of(make_torch_scheduler, n_steps)
    assert_same(optim.lr_curve(schedule, BASE_LR, n_steps), ref)
    # ... and the same through torch's LambdaLR, which is how a training loop would use it.
    assert_same(lrs_of(lambda opt: optim.make_scheduler(opt, schedule), n_steps), ref)


def test_constant():
    check(optim.Constant(), lambda o: lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0), 20)


@pytest.mark.parametrize("step_size, gamma", [(1, 0.9), (5, 0.5), (7, 0.1)])
def test_step_decay_matches_steplr(step_size, gamma):
    check(optim.StepDecay(step_size, gamma),
          lambda o: lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), 30)


@pytest.mark.parametrize("total, final", [(10, 0.0), (25, 0.1)])
def test_linear_decay_matches_linearlr(total, final):
    # Torch's LinearLR needs a start factor > 0 and clamps after total_iters; so do we.
    check(optim.WarmupLinear(0, total, final),
          lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=final, total_iters=total),
          total + 5)


@pytest.mark.parametrize("total, final", [(10, 0.0), (40, 0.05)])
def test_cosine_matches_cosineannealinglr(total, final):
    # Up to T_max only: past it, torch's cosine rises again (it is periodic); ours stays at the floor.
    check(optim.WarmupCosine(0, total, final),
          lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=final * BASE_LR),
          total + 1)
    assert optim.WarmupCosine(0, total, final)(total + 7) == final


@pytest.mark.parametrize("warmup, total, final", [(2, 10, 0.0), (5, 30, 0.1), (10, 12, 0.0)])
def test_warmup_cosine_matches_sequentiallr(warmup, total, final):
    def torch_version(o):
        warm = lr_scheduler.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
        decay = lr_scheduler.CosineAnnealingLR(o, T_max=total - warmup, eta_min=final * BASE_LR)
        return lr_scheduler.SequentialLR(o, [warm, decay], milestones=[warmup])
    check(optim.WarmupCosine(warmup, total, final), torch_version, total + 1)


@pytest.mark.parametrize("warmup, total, final", [(3, 10, 0.0), (4, 20, 0.2)])
def test_warmup_linear_matches_sequentiallr(warmup, total, final):
    def torch_version(o):
        warm = lr_scheduler.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
        decay = lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=final, total_iters=total - warmup)
        return lr_scheduler.SequentialLR(o, [warm, decay], milestones=[warmup])
    check(optim.WarmupLinear(warmup, total, final), torch_version, total + 4)


def test_warmup_convention_against_the_formula():
    """Step 0 gets lr / W (not 0); step W - 1 reaches the full lr; the floor is reached at total."""
    schedule = optim.WarmupCosine(warmup_steps=4, total_steps=12, final_factor=0.1)
    assert [schedule(s) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    for s in range(4, 13):
        p = (s - 4) / 8
        assert schedule(s) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)), abs=1e-15)
    assert schedule(12) == pytest.approx(0.1) and schedule(1000) == pytest.approx(0.1)
    assert optim.WarmupCosine(1, 5)(0) == 1.0  # a one-step warmup is no warmup at all
    assert "warmup" in optim.schedules.__doc__ and "(s + 1) / W" in optim.schedules.__doc__


def test_schedules_pickle_and_print_their_settings():
    schedule = optim.WarmupLinear(3, 9, 0.1)
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    assert "warmup_steps=3" in repr(schedule)


@pytest.mark.parametrize("make, message", [
    (lambda: optim.StepDecay(0), "step_size: expected an int >= 1, got 0"),
    (lambda: optim.StepDecay(2, gamma=-0.5), "gamma: expected a number > 0, got -0.5"),
    (lambda: optim.WarmupCosine(10, 10), "warmup_steps=10 and total_steps=10"),
    (lambda: optim.WarmupCosine(-1, 10), "warmup_steps: expected an int >= 0, got -1"),
    (lambda: optim.WarmupLinear(2, 10, final_factor=1.5), "final_factor: expected a number in"),
    (lambda: optim.Constant()(-1), "step: expected an int >= 0, got -1"),
    (lambda: optim.WarmupCosine(2, 10)(2.5), "got 2.5"),
])
def test_bad_schedule_settings(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


# ---- gradient clipping -------------------------------------------------------------------

def grads_with_norm(seed, scale):
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=g, dtype=torch.float64)
    params.append(torch.zeros(5, dtype=torch.float64, requires_grad=True))  # no .grad: skipped
    return params


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (3.0, 2.5), (1.0, 1e-3)])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clipping_matches_torch(scale, max_norm, norm_type):
    ours, theirs = grads_with_norm(0, scale), grads_with_norm(0, scale)
    norm = optim.clip_grad_norm(ours, max_norm, norm_type=norm_type)
    ref_norm = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    torch.testing.assert_close(norm, ref_norm, atol=1e-12, rtol=1e-12)
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None
        else:
            torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-12)


def test_clipping_keeps_direction_and_caps_the_global_norm():
    params = grads_with_norm(1, 10.0)
    before = torch.cat([p.grad.flatten() for p in params if p.grad is not None])
    norm = optim.clip_grad_norm(iter(params), max_norm=1.0)  # a generator works too
    after = torch.cat([p.grad.flatten() for p in params if p.grad is not None])
    assert norm.item() == pytest.approx(torch.linalg.vector_norm(before).item())
    assert torch.linalg.vector_norm(after).item() == pytest.approx(1.0, rel=1e-5)
    cosine = torch.dot(before, after) / (before.norm() * after.norm())
    assert cosine.item() == pytest.approx(1.0, abs=1e-12)
    # Small gradients are left alone (up to the 1e-6 in the denominator).
    small = grads_with_norm(2, 1e-3)
    kept = [p.grad.clone() for p in small if p.grad is not None]
    optim.clip_grad_norm(small, 1.0)
    for k, p in zip(kept, small):
        torch.testing.assert_close(p.grad, k)


def test_clipping_bad_input():
    params = grads_with_norm(0, 1.0)
    with pytest.raises(ValueError, match="max_norm: expected a number > 0, got -1.0"):
        optim.clip_grad_norm(params, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        optim.clip_grad_norm(params, 1.0, norm_type=0.5)
    params[0].grad[0, 0] = math.nan
    with pytest.raises(RuntimeError, match="nan"):
        optim.clip_grad_norm(params, 1.0, error_if_nonfinite=True)
    assert optim.clip_grad_norm([torch.zeros(2, requires_grad=True)], 1.0).item() == 0.0
