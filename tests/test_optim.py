"""The from-scratch optimizers against torch.optim: same settings, same steps, same numbers."""
from __future__ import annotations

import copy
import math

import pytest
import torch

from course_lib import optim

# Each case: our optimizer, torch's, and settings both accept. Several settings per optimizer,
# including weight decay, momentum / dampening and Nesterov where torch has them.
CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.1)),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.05)),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.03, momentum=0.7, nesterov=True, weight_decay=0.2)),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.1, momentum=0.0)),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.2, lr_decay=0.05, weight_decay=0.1,
                                              initial_accumulator_value=0.3, eps=1e-6)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-4, weight_decay=0.1)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, momentum=0.9, centered=True)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.005, momentum=0.5, weight_decay=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-4, weight_decay=0.1)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.0, 0.5))),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.3)),
]


def case_id(case):
    ours, _, settings = case
    return ours.__name__ + "-" + "-".join(f"{k}={v}" for k, v in settings.items())


def random_problem(seed: int):
    """A tiny tanh network on random data: four parameter tensors of different shapes, and
    one frozen tensor whose .grad stays None (optimizers must skip it)."""
    g = torch.Generator().manual_seed(seed)
    params = [
        torch.randn(5, 3, generator=g, dtype=torch.float64),  # W1 (H, D)
        torch.randn(5, generator=g, dtype=torch.float64),  # b1 (H,)
        torch.randn(2, 5, generator=g, dtype=torch.float64),  # W2 (O, H)
        torch.randn(2, generator=g, dtype=torch.float64),  # b2 (O,)
        torch.randn(4, generator=g, dtype=torch.float64),  # frozen: never in the loss
    ]
    x = torch.randn(16, 3, generator=g, dtype=torch.float64)  # (N, D)
    y = torch.randn(16, 2, generator=g, dtype=torch.float64)  # (N, O)

    def loss_fn(p):
        hidden = torch.tanh(x @ p[0].T + p[1])  # (N, H)
        out = hidden @ p[2].T + p[3]  # (N, O)
        return ((out - y) ** 2).mean()

    return params, loss_fn


def run(opt_class, settings, params, loss_fn, n_steps, param_groups=False):
    params = [p.clone().requires_grad_(True) for p in params]
    if param_groups:  # two groups, the second with its own learning rate
        opt = opt_class([{"params": params[:2]},
                         {"params": params[2:], "lr": settings["lr"] * 0.5}], **settings)
    else:
        opt = opt_class(params, **settings)
    history = []
    for _ in range(n_steps):
        opt.zero_grad()
        loss_fn(params).backward()
        opt.step()
        history.append([p.detach().clone() for p in params])
    return history


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_step_for_step(case, seed):
    ours, theirs, settings = case
    params, loss_fn = random_problem(seed)
    mine = run(ours, settings, params, loss_fn, n_steps=25)
    ref = run(theirs, settings, params, loss_fn, n_steps=25)
    for step, (a, b) in enumerate(zip(mine, ref)):
        for i, (pa, pb) in enumerate(zip(a, b)):
            torch.testing.assert_close(pa, pb, atol=1e-10, rtol=1e-10,
                                       msg=lambda m, step=step, i=i: f"step {step + 1}, tensor {i}: {m}")
    # The parameters really moved (a do-nothing optimizer must not pass), the frozen one did not.
    assert not torch.allclose(mine[-1][0], params[0])
    assert torch.equal(mine[-1][4], params[4])


@pytest.mark.parametrize("case", CASES[1::3], ids=case_id)
def test_matches_torch_with_param_groups(case):
    ours, theirs, settings = case
    params, loss_fn = random_problem(7)
    mine = run(ours, settings, params, loss_fn, n_steps=10, param_groups=True)
    ref = run(theirs, settings, params, loss_fn, n_steps=10, param_groups=True)
    for pa, pb in zip(mine[-1], ref[-1]):
        torch.testing.assert_close(pa, pb, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_closure_and_state_dict_round_trip(case):
    """step(closure) returns the loss; saving and loading the state resumes the same run."""
    ours, _, settings = case
    params, loss_fn = random_problem(3)
    straight = run(ours, settings, params, loss_fn, n_steps=8)[-1]

    p = [t.clone().requires_grad_(True) for t in params]
    opt = ours(p, **settings)

    def closure():
        opt.zero_grad()
        loss = loss_fn(p)
        loss.backward()
        return loss

    for _ in range(4):
        loss = opt.step(closure)
        assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    saved_params = [t.detach().clone() for t in p]
    saved_state = copy.deepcopy(opt.state_dict())

    resumed = [t.clone().requires_grad_(True) for t in saved_params]
    opt2 = ours(resumed, **settings)
    opt2.load_state_dict(saved_state)
    for _ in range(4):
        opt2.zero_grad()
        loss_fn(resumed).backward()
        opt2.step()
    for a, b in zip(resumed, straight):
        torch.testing.assert_close(a.detach(), b, atol=1e-12, rtol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_matches_torch_on_cuda(case):
    ours, theirs, settings = case
    params, loss_fn = random_problem(5)
    on_gpu = [p.cuda() for p in params]

    def gpu_loss(p):  # the same problem, with its data moved to the GPU
        return loss_fn([t.cpu() for t in p]).cuda()

    mine = run(ours, settings, on_gpu, gpu_loss, n_steps=10)[-1]
    ref = run(theirs, settings, on_gpu, gpu_loss, n_steps=10)[-1]
    for a, b in zip(mine, ref):
        assert a.is_cuda
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_adam_bias_correction_makes_first_step_lr_sized():
    """Adam's first step moves every coordinate by about lr, whatever the gradient's scale."""
    theta = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([theta], lr=0.1)
    theta.grad = torch.tensor([1e-3, 1.0, 1e3], dtype=torch.float64)
    opt.step()
    # m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g).
    torch.testing.assert_close(theta.detach(), torch.full((3,), 0.9, dtype=torch.float64),
                               atol=1e-6, rtol=0)


def test_nesterov_differs_from_heavy_ball():
    params, loss_fn = random_problem(0)
    heavy = run(optim.Momentum, dict(lr=0.05, momentum=0.9), params, loss_fn, 5)[-1]
    nesterov = run(optim.Momentum, dict(lr=0.05, momentum=0.9, nesterov=True), params, loss_fn, 5)[-1]
    assert not torch.allclose(heavy[0], nesterov[0])


def test_full_batch_is_gradient_descent_and_minibatches_cover_each_example_once():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)  # (N, D)
    w_true = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    y = x @ w_true + 0.01 * torch.randn(40, generator=g, dtype=torch.float64)  # (N,)

    batches = list(optim.minibatches(40, 7, torch.Generator().manual_seed(1)))
    assert [len(b) for b in batches] == [7, 7, 7, 7, 7, 5]
    assert sorted(torch.cat(batches).tolist()) == list(range(40))
    assert [len(b) for b in optim.minibatches(40, 7, drop_last=True)] == [7] * 5

    def train(batch_size, epochs, lr=0.1):
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        opt = optim.SGD([w], lr=lr)
        gen = torch.Generator().manual_seed(2)
        for _ in range(epochs):
            for idx in optim.minibatches(40, batch_size, gen):
                opt.zero_grad()
                ((x[idx] @ w - y[idx]) ** 2).mean().backward()
                opt.step()
        return w.detach()

    # One batch of all 40 examples is full-batch gradient descent; compare with the formula.
    w = torch.zeros(3, dtype=torch.float64)
    for _ in range(30):
        w = w - 0.1 * (2 / 40) * x.T @ (x @ w - y)  # w <- w - lr * grad of the mean squared error
    torch.testing.assert_close(train(40, 30), w, atol=1e-12, rtol=0)

    # Mini-batch SGD gets near the least-squares answer too (noisier path).
    w_ls = torch.linalg.lstsq(x, y.unsqueeze(1)).solution.squeeze(1)
    assert torch.linalg.vector_norm(train(8, 60, lr=0.05) - w_ls) < 0.05


def test_gradient_descent_is_sgd_and_decoupled_decay_equals_coupled_for_sgd():
    assert optim.GradientDescent is optim.SGD
    params, loss_fn = random_problem(4)
    coupled = run(optim.SGD, dict(lr=0.1, weight_decay=0.2), params, loss_fn, 10)[-1]
    decoupled = run(optim.SGD, dict(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
                    params, loss_fn, 10)[-1]
    for a, b in zip(coupled, decoupled):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


# Settings torch rejects with a ValueError; ours must reject them too, naming the value.
INVALID = [
    (optim.SGD, torch.optim.SGD, dict(lr=-0.1), "-0.1"),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=-0.01), "-0.01"),
    (optim.Momentum, torch.optim.SGD, dict(lr=-1.0, momentum=0.9), "-1.0"),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.1, momentum=-0.5), "-0.5"),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.1, momentum=0.0, nesterov=True), "momentum=0.0"),
    (optim.Momentum, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "dampening=0.1"),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=-0.01), "-0.01"),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, eps=-1e-10), "-1e-10"),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, lr_decay=-0.1), "-0.1"),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=-1.0), "-1.0"),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.1, alpha=-0.9), "-0.9"),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.1, eps=-1.0), "-1.0"),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.1, momentum=-0.1), "-0.1"),
    (optim.Adam, torch.optim.Adam, dict(lr=-1e-3), "-0.001"),
    (optim.Adam, torch.optim.Adam, dict(betas=(1.0, 0.999)), "1.0"),
    (optim.Adam, torch.optim.Adam, dict(betas=(0.9, 1.5)), "1.5"),
    (optim.Adam, torch.optim.Adam, dict(betas=(-0.1, 0.999)), "-0.1"),
    (optim.Adam, torch.optim.Adam, dict(eps=-1e-8), "-1e-08"),
    (optim.Adam, torch.optim.Adam, dict(weight_decay=-0.1), "-0.1"),
    (optim.AdamW, torch.optim.AdamW, dict(weight_decay=-0.01), "-0.01"),
    (optim.AdamW, torch.optim.AdamW, dict(betas=(0.9, 1.0)), "1.0"),
]


@pytest.mark.parametrize("ours, theirs, settings, shown", INVALID,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in INVALID])
def test_invalid_settings_raise_like_torch(ours, theirs, settings, shown):
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError):
        theirs(p, **settings)
    with pytest.raises(ValueError) as err:
        ours(p, **settings)
    message = str(err.value)
    assert shown in message
    assert any(name in message for name in settings), message  # names the setting


def test_non_numbers_and_nan_are_rejected():
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(TypeError, match="lr: expected a number, got str"):
        optim.SGD(p, lr="0.1")
    with pytest.raises(ValueError, match="nan"):
        optim.Adam(p, lr=math.nan)
    with pytest.raises(ValueError, match="pair"):
        optim.Adam(p, betas=0.9)
    with pytest.raises(ValueError, match=r"alpha=1\.0"):
        optim.RMSProp(p, alpha=1.0)


def test_docstrings_state_the_conventions():
    """The files say where eps goes and how weight decay enters (learners read them)."""
    for module in (optim.adagrad, optim.rmsprop, optim.adam):
        doc = module.__doc__
        assert "eps" in doc and "outside" in doc, module.__name__
        assert "weight decay" in doc.lower(), module.__name__
    assert "decouple" in optim.adam.__doc__
    assert "first step" in optim.momentum.__doc__.lower()
