"""Recorded common mistakes for lesson 07: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.

ALTERNATIVES holds correct answers written differently from the solution; each must pass.
"""

MISTAKES = {
    "momentum_step": [
        {
            "name": "momentum with the wrong sign (steps uphill)",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity + grad
    return theta + lr * new_velocity, new_velocity
''',
            "says": "momentum with the wrong sign",
        },
        {
            "name": "velocity accumulates minus the gradient, theta adds it",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity - grad
    return theta + lr * new_velocity, new_velocity
''',
            "says": "velocity has the wrong sign",
        },
        {
            "name": "forgets the velocity (plain gradient descent)",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    return theta - lr * grad, grad
''',
            "says": "velocity is missing",
        },
        {
            "name": "puts lr inside the velocity",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity + lr * grad
    return theta - new_velocity, new_velocity
''',
            "says": "keep lr out of the velocity",
        },
        {
            "name": "dampens the gradient by (1 - mu)",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity + (1 - mu) * grad
    return theta - lr * new_velocity, new_velocity
''',
            "says": "no (1 - mu) factor",
        },
        {
            "name": "updates the caller's tensors in place",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    velocity.mul_(mu).add_(grad)
    theta.sub_(lr * velocity)
    return theta, velocity
''',
            "says": "in place",
        },
        {
            "name": 'steps with the old velocity',
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_theta = theta - lr * velocity
    return new_theta, mu * velocity + grad
''',
            "says": 'step with the NEW velocity',
        },
        {
            "name": 'Nesterov instead of heavy ball',
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity + grad
    return theta - lr * (grad + mu * new_velocity), new_velocity
''',
            "says": 'Nesterov',
        },
        {
            "name": 'returns the pair in the wrong order',
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = mu * velocity + grad
    return new_velocity, theta - lr * new_velocity
''',
            "says": 'wrong order',
        },
        {
            "name": 'mu on the gradient',
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    new_velocity = velocity + mu * grad
    return theta - lr * new_velocity, new_velocity
''',
            "says": 'mu multiplies the OLD velocity',
        },
    ],
    "adam_step": [
        {
            "name": "no bias correction",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return theta - lr * m / (torch.sqrt(v) + eps), m, v
''',
            "says": "bias correction is missing",
        },
        {
            "name": "bias correction with t + 1",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** (t + 1))
    v_hat = v / (1 - beta2 ** (t + 1))
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": "t counts the steps from 1",
        },
        {
            "name": "eps inside the square root",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / torch.sqrt(v_hat + eps), m, v
''',
            "says": "eps goes outside the square root",
        },
        {
            "name": "second moment of |g| instead of g^2",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad.abs()
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": "SQUARED gradient",
        },
        {
            "name": "stores the bias-corrected averages",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (beta1 * m + (1 - beta1) * grad) / (1 - beta1 ** t)
    v = (beta2 * v + (1 - beta2) * grad * grad) / (1 - beta2 ** t)
    return theta - lr * m / (torch.sqrt(v) + eps), m, v
''',
            "says": "return the raw average",
        },
        {
            "name": 'bias-corrects only m',
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    return theta - lr * m_hat / (torch.sqrt(v) + eps), m, v
''',
            "says": 'correct BOTH averages',
        },
        {
            "name": 'betas swapped',
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta2 * m + (1 - beta2) * grad
    v = beta1 * v + (1 - beta1) * grad * grad
    m_hat = m / (1 - beta2 ** t)
    v_hat = v / (1 - beta1 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": 'swapped',
        },
        {
            "name": 'steps with the old averages',
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    new_theta = theta - lr * (m / (1 - beta1 ** t)) / (torch.sqrt(v / (1 - beta2 ** t)) + eps)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return new_theta, m, v
''',
            "says": 'update the averages first',
        },
        {
            "name": 'bias correction with t - 1',
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** (t - 1))
    v_hat = v / (1 - beta2 ** (t - 1))
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": 't counts the steps from 1',
        },
    ],
    "adamw_step": [
        {
            "name": "L2 added to the gradient inside Adam (not AdamW)",
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    grad = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": "Adam with an L2 penalty",
        },
        {
            "name": "decay not multiplied by lr",
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    theta = theta * (1 - weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": "multiply the decay by lr",
        },
        {
            "name": "forgets the decay",
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": "weight decay is missing",
        },
        {
            "name": "decays after the Adam step",
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    theta = theta - lr * m_hat / (torch.sqrt(v_hat) + eps)
    return theta * (1 - lr * weight_decay), m, v
''',
            "says": "BEFORE the Adam step",
        },
        {
            "name": 'no bias correction',
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    theta = theta * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return theta - lr * m / (torch.sqrt(v) + eps), m, v
''',
            "says": 'bias correction is missing',
        },
        {
            "name": 'subtracts a constant decay',
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    theta = theta - lr * weight_decay
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v
''',
            "says": 'proportional to the weight',
        },
    ],
    "warmup_cosine": [
        {
            "name": "off-by-one warmup (the first update gets lr 0)",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": "off-by-one warmup",
        },
        {
            "name": "off-by-one warmup (warmup runs one step too long and overshoots the peak)",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step <= warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": "off-by-one warmup",
        },
        {
            "name": "cosine progress counted from step 0",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, step / total_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": "the cosine starts when the warmup ends",
        },
        {
            "name": "decays to 0 instead of min_lr",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": "decay to min_lr",
        },
        {
            "name": "the cosine rises again after total_steps",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": "stay at min_lr after total_steps",
        },
        {
            "name": 'divides by warmup_steps even when it is 0',
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    warm = base_lr * min(1.0, (step + 1) / warmup_steps)
    if step < warmup_steps:
        return warm
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": 'warmup_steps may be 0',
        },
        {
            "name": 'linear decay instead of cosine',
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * (1 - progress)
''',
            "says": 'linear decay',
        },
        {
            "name": 'forgets the factor 1/2',
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress))
''',
            "says": 'factor 1/2',
        },
        {
            "name": 'progress divided by total_steps',
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / total_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
''',
            "says": 'not by total_steps',
        },
    ],
    "soft_threshold": [
        {
            "name": "a soft threshold without exact zeros (subgradient step)",
            "code": '''
def soft_threshold(w, threshold):
    return w - threshold * torch.sign(w)
''',
            "says": "does not produce exact zeros",
        },
        {
            "name": "forgets the negative side",
            "code": '''
def soft_threshold(w, threshold):
    return torch.clamp(w - threshold, min=0.0)
''',
            "says": "negative weights",
        },
        {
            "name": "hard thresholding",
            "code": '''
def soft_threshold(w, threshold):
    return w * (w.abs() > threshold)
''',
            "says": "hard thresholding",
        },
        {
            "name": "shrinks proportionally, like L2",
            "code": '''
def soft_threshold(w, threshold):
    return w / (1 + threshold)
''',
            "says": "shrinks like L2",
        },
        {
            "name": 'loses the sign',
            "code": '''
def soft_threshold(w, threshold):
    return torch.clamp(w.abs() - threshold, min=0.0)
''',
            "says": 'sign is lost',
        },
        {
            "name": 'zeroes the small weights in place',
            "code": '''
def soft_threshold(w, threshold):
    w[w.abs() <= threshold] = 0.0
    w -= threshold * torch.sign(w)
    return w
''',
            "says": 'in place',
        },
        {
            "name": 'shifts every surviving weight down',
            "code": '''
def soft_threshold(w, threshold):
    return torch.where(w.abs() > threshold, w - threshold, torch.zeros_like(w))
''',
            "says": 'negative weights',
        },
    ],
    "expected_improvement": [
        {
            "name": "maximises: mean - best",
            "code": '''
def expected_improvement(mean, std, best):
    d = mean - best
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = d / safe
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return torch.where(std > 0, d * cdf + std * pdf, torch.clamp(d, min=0.0))
''',
            "says": "we MINIMISE",
        },
        {
            "name": "forgets the exploration term",
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = d / safe
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    return torch.where(std > 0, d * cdf, torch.clamp(d, min=0.0))
''',
            "says": "exploration term",
        },
        {
            "name": "divides by the variance",
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    z = d / (std * std)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return d * cdf + std * pdf
''',
            "says": "not the variance",
        },
        {
            "name": "nan where std is 0",
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    z = d / std
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return d * cdf + std * pdf
''',
            "says": "where std is 0",
        },
        {
            "name": 'leaves out sqrt(2) in the CDF',
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = d / safe
    cdf = 0.5 * (1 + torch.erf(z))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return torch.where(std > 0, d * cdf + std * pdf, torch.clamp(d, min=0.0))
''',
            "says": 'sqrt(2)',
        },
        {
            "name": 'CDF and density swapped',
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = d / safe
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return torch.where(std > 0, d * pdf + std * cdf, torch.clamp(d, min=0.0))
''',
            "says": 'swapped',
        },
        {
            "name": 'negative improvement where std is 0',
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = d / safe
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return torch.where(std > 0, d * cdf + std * pdf, d)
''',
            "says": 'never negative',
        },
    ],
    "optimizer_class": [
        {
            "name": 'one step counter for the whole optimizer',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = self.t, state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'counts its own steps',
        },
        {
            "name": 'reads the settings from self.defaults',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = self.defaults["lr"], group["betas"], group["eps"], self.defaults["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'its own settings',
        },
        {
            "name": 'state created anew at every step',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if True:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'must persist',
        },
        {
            "name": 'L2 penalty in the gradient',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v = state["t"], state["m"], state["v"]
                    g = p.grad + wd * p
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'L2 penalty',
        },
        {
            "name": 'decay not multiplied by lr',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'multiply the decay by lr',
        },
        {
            "name": 'no bias correction',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m, v
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'bias correction is missing',
        },
        {
            "name": 'rebinds p instead of updating it in place',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p = p * (1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p = p - (lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'in place',
        },
        {
            "name": 'does not skip parameters without a gradient',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    pass
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'grad is None',
        },
        {
            "name": 'forgets torch.no_grad',
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        if True:
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return loss
''',
            "says": 'torch.no_grad()',
        },
        {
            "name": "does not return the closure's loss",
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.t += 1
        with torch.no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    state["t"] += 1
                    t, m, v, g = state["t"], state["m"], state["v"], p.grad
                    p.mul_(1 - lr * wd)
                    m.mul_(beta1).add_((1 - beta1) * g)
                    v.mul_(beta2).add_((1 - beta2) * g * g)
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
        return None
''',
            "says": 'return the loss',
        },
    ],
}

# Correct answers written differently from the solution: the test cells must give them full marks.
ALTERNATIVES = {
    "momentum_step": [
        {
            "name": "torch.add with alpha, tuple",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    v = velocity * mu + grad
    return torch.add(theta, v, alpha=-lr), v
''',
        },
        {
            "name": "clone and in-place on the copy, list",
            "code": '''
def momentum_step(theta, grad, velocity, lr, mu):
    v = velocity.clone().mul_(mu).add_(grad)
    t = theta.clone()
    t -= lr * v
    return [t, v]
''',
        },
    ],
    "adam_step": [
        {
            "name": "torch's factorisation",
            "code": '''
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = m.lerp(grad, 1 - beta1)
    v = v * beta2 + (1 - beta2) * grad.square()
    step_size = lr / (1 - beta1 ** t)
    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    return torch.addcdiv(theta, m, denom, value=-step_size), m, v
''',
        },
    ],
    "adamw_step": [
        {
            "name": "decay as a subtraction",
            "code": '''
def adamw_step(theta, grad, m, v, t, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    theta = theta - lr * weight_decay * theta
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    update = (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps)
    return theta - lr * update, m, v
''',
        },
    ],
    "warmup_cosine": [
        {
            "name": "progress clamp with max/min, tensor result",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    p = (step - warmup_steps) / (total_steps - warmup_steps)
    return torch.tensor(min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * p)))
''',
        },
        {
            "name": "1 - (1 - cos)/2 form",
            "code": '''
def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return (step + 1) * base_lr / warmup_steps
    p = min((step - warmup_steps) / max(1, total_steps - warmup_steps), 1)
    return base_lr - (base_lr - min_lr) * (1 - math.cos(math.pi * p)) / 2
''',
        },
    ],
    "soft_threshold": [
        {
            "name": "softshrink",
            "code": '''
def soft_threshold(w, threshold):
    return torch.nn.functional.softshrink(w, threshold)
''',
        },
        {
            "name": "two relus",
            "code": '''
def soft_threshold(w, threshold):
    return torch.relu(w - threshold) - torch.relu(-w - threshold)
''',
        },
        {
            "name": "where with zeros",
            "code": '''
def soft_threshold(w, threshold):
    return torch.where(w.abs() > threshold, w - threshold * torch.sign(w), torch.zeros(1))
''',
        },
    ],
    "expected_improvement": [
        {
            "name": "torch.distributions, clamped std",
            "code": '''
def expected_improvement(mean, std, best):
    normal = torch.distributions.Normal(torch.zeros((), dtype=mean.dtype), torch.ones((), dtype=mean.dtype))
    d = best - mean
    z = d / std.clamp_min(1e-300)
    return d * normal.cdf(z) + std * normal.log_prob(z).exp()
''',
        },
        {
            "name": "special.ndtr",
            "code": '''
def expected_improvement(mean, std, best):
    d = best - mean
    s = torch.where(std > 0, std, torch.ones_like(std))
    z = d / s
    ei = d * torch.special.ndtr(z) + std * torch.exp(-z ** 2 / 2) / math.sqrt(2 * math.pi)
    return torch.where(std > 0, ei, d.clamp(min=0))
''',
        },
    ],
    "optimizer_class": [
        {
            "name": "decorator, torch-style names, addcdiv",
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                b1, b2 = group["betas"]
                state["step"] += 1
                p.mul_(1 - group["lr"] * group["weight_decay"])
                state["exp_avg"].lerp_(p.grad, 1 - b1)
                state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                bc1 = 1 - b1 ** state["step"]
                bc2 = 1 - b2 ** state["step"]
                denom = (state["exp_avg_sq"].sqrt() / math.sqrt(bc2)).add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / bc1)
        return loss
''',
        },
        {
            "name": "p.data rebinding and a state dataclass-free dict",
            "code": '''
class AdamWOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.detach()
                st = self.state.setdefault(p, {})
                st["n"] = st.get("n", 0) + 1
                st["m"] = b1 * st.get("m", torch.zeros_like(g)) + (1 - b1) * g
                st["v"] = b2 * st.get("v", torch.zeros_like(g)) + (1 - b2) * g * g
                m_hat = st["m"] / (1 - b1 ** st["n"])
                v_hat = st["v"] / (1 - b2 ** st["n"])
                p.data = p.data * (1 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps)
        return loss
''',
        },
    ],
}
