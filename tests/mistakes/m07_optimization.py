"""Recorded common mistakes for lesson 07: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
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
    ],
}
