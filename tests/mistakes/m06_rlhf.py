"""Recorded common mistakes for lesson 06: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
"""

MISTAKES = {
    "bradley_terry_loss": [
        {
            "name": "sigmoid without the log",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return -torch.sigmoid(r_chosen - r_rejected).mean()
''',
            "says": "sigmoid without the log",
        },
        {
            "name": "1 - sigmoid: the sigmoid without the log",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return (1 - torch.sigmoid(r_chosen - r_rejected)).mean()
''',
            "says": "sigmoid without the log",
        },
        {
            "name": "sign swapped (rewards the rejected answer)",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return -F.logsigmoid(r_rejected - r_chosen).mean()
''',
            "says": "the sign is swapped",
        },
        {
            "name": "softplus of the margin (the same swapped sign)",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return F.softplus(r_chosen - r_rejected).mean()
''',
            "says": "the sign is swapped",
        },
        {
            "name": "log-sigmoid without the minus",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return F.logsigmoid(r_chosen - r_rejected).mean()
''',
            "says": "missing its minus sign",
        },
        {
            "name": "sum over pairs instead of the mean",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return -F.logsigmoid(r_chosen - r_rejected).sum()
''',
            "says": "take the mean",
        },
        {
            "name": "squared error against the label 1",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return ((torch.sigmoid(r_chosen - r_rejected) - 1) ** 2).mean()
''',
            "says": "not the Bradley-Terry likelihood",
        },
        {
            "name": "log(sigmoid(x)), which underflows for large margins",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return -torch.log(torch.sigmoid(r_chosen - r_rejected)).mean()
''',
            "says": "use torch.nn.functional.logsigmoid",
        },
        {
            "name": "log(1 + exp(-x)) written out, which overflows",
            "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return torch.log(1 + torch.exp(-(r_chosen - r_rejected))).mean()
''',
            "says": "use torch.nn.functional.logsigmoid",
        },
    ],
    "kl_penalty": [
        {
            "name": "KL over padding (mask ignored)",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k1":
        return log_ratio
    if kind == "k2":
        return 0.5 * log_ratio ** 2
    if kind == "k3":
        return torch.exp(-log_ratio) - 1 + log_ratio
    raise ValueError(kind)
''',
            "says": "KL over padding",
        },
        {
            "name": "sign swapped (ref_logp - logp)",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = ref_logp - logp
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        kl = torch.exp(-log_ratio) - 1 + log_ratio
    else:
        raise ValueError(kind)
    return kl * mask
''',
            "says": "the sign is swapped",
        },
        {
            "name": "k2 without the half",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = log_ratio ** 2
    elif kind == "k3":
        kl = torch.exp(-log_ratio) - 1 + log_ratio
    else:
        raise ValueError(kind)
    return kl * mask
''',
            "says": "the half is missing",
        },
        {
            "name": "k3 with r = pi / pi_ref (exp of the wrong difference)",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        kl = torch.exp(log_ratio) - 1 - log_ratio
    else:
        raise ValueError(kind)
    return kl * mask
''',
            "says": "r is pi_ref / pi",
        },
        {
            "name": "k3 as (r - 1) + log r",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        r = torch.exp(-log_ratio)
        kl = (r - 1) + torch.log(r)
    else:
        raise ValueError(kind)
    return kl * mask
''',
            "says": "not (r - 1) + log r",
        },
        {
            "name": "kind ignored (always k1)",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    return (logp - ref_logp) * mask
''',
            "says": "kind is ignored",
        },
        {
            "name": "summed over the tokens (one number per answer)",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        kl = torch.exp(-log_ratio) - 1 + log_ratio
    else:
        raise ValueError(kind)
    return (kl * mask).sum(-1)
''',
            "says": "do not sum over the tokens",
        },
        {
            "name": "an unknown kind falls back to k1 instead of raising",
            "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_ratio = logp - ref_logp
    if kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        kl = torch.exp(-log_ratio) - 1 + log_ratio
    else:
        kl = log_ratio
    return kl * mask
''',
            "says": "raise ValueError for any other kind",
        },
    ],
    "gae": [
        {
            "name": "iterated forwards",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    values = values * m
    advantages = torch.zeros_like(values)
    previous = torch.zeros_like(values[:, 0])
    for t in range(values.shape[1]):
        next_value = values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(values[:, 0])
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = (delta + gamma * lam * previous) * m[:, t]
        previous = advantages[:, t]
    return advantages, (advantages + values) * m
''',
            "says": "iterated forwards",
        },
        {
            "name": "not reset at the end of the sequence (bootstraps from the padding)",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    T = values.shape[1]
    advantages = torch.zeros_like(values)
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(values[:, 0])
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = next_advantage
    advantages = advantages * m
    return advantages, (advantages + values) * m
''',
            "says": "not reset at the end of the sequence",
        },
        {
            "name": "gamma * lam applied to the TD error too",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    values = values * m
    advantages = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = gamma * lam * (delta + next_advantage) * m[:, t]
        next_value, next_advantage = values[:, t], advantages[:, t]
    return advantages, (advantages + values) * m
''',
            "says": "gamma * lam also multiplies the TD error",
        },
        {
            "name": "the token's own value used as the next value",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    values = values * m
    advantages = torch.zeros_like(values)
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * values[:, t] - values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_advantage) * m[:, t]
        next_advantage = advantages[:, t]
    return advantages, (advantages + values) * m
''',
            "says": "own value",
        },
        {
            "name": "returns = advantages (the value forgotten)",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    values = values * m
    advantages = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_advantage) * m[:, t]
        next_value, next_advantage = values[:, t], advantages[:, t]
    return advantages, advantages
''',
            "says": "you returned the advantages alone",
        },
        {
            "name": "returns not masked (the padding's value leaks in)",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    masked_values = values * m
    advantages = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - masked_values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_advantage) * m[:, t]
        next_value, next_advantage = masked_values[:, t], advantages[:, t]
    return advantages, advantages + values
''',
            "says": "returns must be 0 off the mask",
        },
        {
            "name": "lam ignored",
            "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    values = values * m
    advantages = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = (delta + gamma * next_advantage) * m[:, t]
        next_value, next_advantage = values[:, t], advantages[:, t]
    return advantages, (advantages + values) * m
''',
            "says": "lam is ignored",
        },
    ],
    "ppo_clip_loss": [
        {
            "name": "max instead of min",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old.detach())
    objective = torch.maximum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "max instead of min",
        },
        {
            "name": "the advantage clipped instead of the ratio",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old.detach())
    objective = torch.minimum(ratio * advantages, ratio * torch.clamp(advantages, 1 - clip, 1 + clip))
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "the advantage was clipped",
        },
        {
            "name": "the ratio without exp",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = logp_new - logp_old.detach()
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "exp(logp_new - logp_old)",
        },
        {
            "name": "mean over the padding too",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old.detach())
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    return -(objective * mask).mean()
''',
            "says": "over the padding",
        },
        {
            "name": "one-sided clip",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old.detach())
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, max=1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "one-sided",
        },
        {
            "name": "the objective returned instead of the loss",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old.detach())
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return (objective * m).sum() / m.sum()
''',
            "says": "return the LOSS",
        },
        {
            "name": "the ratio inverted",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_old.detach() - logp_new)
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "the ratio is inverted",
        },
        {
            "name": "logp_old not detached",
            "code": '''
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    ratio = torch.exp(logp_new - logp_old)
    objective = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    m = mask.to(objective.dtype)
    return -(objective * m).sum() / m.sum()
''',
            "says": "detach it",
        },
    ],
    "dpo_loss": [
        {
            "name": "mean instead of summed log-probs",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    def average(logps, mask):
        return (logps * mask).sum(-1) / mask.sum(-1)
    chosen = average(policy_chosen, chosen_mask) - average(ref_chosen, chosen_mask)
    rejected = average(policy_rejected, rejected_mask) - average(ref_rejected, rejected_mask)
    return -F.logsigmoid(beta * (chosen - rejected)).mean()
''',
            "says": "mean instead of summed log-probs",
        },
        {
            "name": "beta outside the sigmoid",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen * chosen_mask).sum(-1) - (ref_chosen * chosen_mask).sum(-1)
    rejected = (policy_rejected * rejected_mask).sum(-1) - (ref_rejected * rejected_mask).sum(-1)
    return -beta * F.logsigmoid(chosen - rejected).mean()
''',
            "says": "beta outside the sigmoid",
        },
        {
            "name": "policy and reference swapped",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (ref_chosen * chosen_mask).sum(-1) - (policy_chosen * chosen_mask).sum(-1)
    rejected = (ref_rejected * rejected_mask).sum(-1) - (policy_rejected * rejected_mask).sum(-1)
    return -F.logsigmoid(beta * (chosen - rejected)).mean()
''',
            "says": "policy and reference swapped",
        },
        {
            "name": "log-sigmoid without the minus",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen * chosen_mask).sum(-1) - (ref_chosen * chosen_mask).sum(-1)
    rejected = (policy_rejected * rejected_mask).sum(-1) - (ref_rejected * rejected_mask).sum(-1)
    return F.logsigmoid(beta * (chosen - rejected)).mean()
''',
            "says": "missing its minus sign",
        },
        {
            "name": "the reference forgotten",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen * chosen_mask).sum(-1)
    rejected = (policy_rejected * rejected_mask).sum(-1)
    return -F.logsigmoid(beta * (chosen - rejected)).mean()
''',
            "says": "the reference is missing",
        },
        {
            "name": "the padding summed too",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = policy_chosen.sum(-1) - ref_chosen.sum(-1)
    rejected = policy_rejected.sum(-1) - ref_rejected.sum(-1)
    return -F.logsigmoid(beta * (chosen - rejected)).mean()
''',
            "says": "the padding was summed too",
        },
        {
            "name": "summed over the pairs",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen * chosen_mask).sum(-1) - (ref_chosen * chosen_mask).sum(-1)
    rejected = (policy_rejected * rejected_mask).sum(-1) - (ref_rejected * rejected_mask).sum(-1)
    return -F.logsigmoid(beta * (chosen - rejected)).sum()
''',
            "says": "mean over the B pairs",
        },
        {
            "name": "log(sigmoid(x)), which underflows for confident policies",
            "code": '''
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen * chosen_mask).sum(-1) - (ref_chosen * chosen_mask).sum(-1)
    rejected = (policy_rejected * rejected_mask).sum(-1) - (ref_rejected * rejected_mask).sum(-1)
    return -torch.log(torch.sigmoid(beta * (chosen - rejected))).mean()
''',
            "says": "use torch.nn.functional.logsigmoid",
        },
    ],
    "group_advantages": [
        {
            "name": "normalised over the whole batch instead of per group",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    return (rewards - rewards.mean()) / (rewards.std() + eps)
''',
            "says": "normalised over the whole batch instead of per group",
        },
        {
            "name": "division by a zero std (no eps)",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(-1, group_size)
    return ((groups - groups.mean(1, keepdim=True)) / groups.std(1, keepdim=True)).reshape(-1)
''',
            "says": "add eps to the std",
        },
        {
            "name": "population std",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(-1, group_size)
    std = groups.std(1, unbiased=False, keepdim=True)
    return ((groups - groups.mean(1, keepdim=True)) / (std + eps)).reshape(-1)
''',
            "says": "population std",
        },
        {
            "name": "interleaved groups",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(group_size, -1)
    return ((groups - groups.mean(0)) / (groups.std(0) + eps)).reshape(-1)
''',
            "says": "interleaved",
        },
        {
            "name": "group mean but the whole batch's std",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(-1, group_size)
    return ((groups - groups.mean(1, keepdim=True)) / (rewards.std() + eps)).reshape(-1)
''',
            "says": "each group's own std",
        },
        {
            "name": "not centred",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(-1, group_size)
    return (groups / (groups.std(1, keepdim=True) + eps)).reshape(-1)
''',
            "says": "not centred",
        },
        {
            "name": "eps inside the square root",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if len(rewards) % group_size:
        raise ValueError("groups")
    groups = rewards.view(-1, group_size)
    return ((groups - groups.mean(1, keepdim=True)) / torch.sqrt(groups.var(1, keepdim=True) + eps)).reshape(-1)
''',
            "says": "eps inside the square root",
        },
        {
            "name": "no error when the batch does not divide into groups",
            "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    n = len(rewards) // group_size * group_size
    groups = rewards[:n].view(-1, group_size)
    return ((groups - groups.mean(1, keepdim=True)) / (groups.std(1, keepdim=True) + eps)).reshape(-1)
''',
            "says": "raise ValueError",
        },
    ],
}

ALTERNATIVES = {
    "bradley_terry_loss": [
        {"name": "softplus of the negative margin", "code": '''
def bradley_terry_loss(r_chosen, r_rejected):
    return F.softplus(r_rejected - r_chosen).mean()
'''},
    ],
    "kl_penalty": [
        {"name": "torch.where for the mask, expm1 for k3", "code": '''
def kl_penalty(logp, ref_logp, mask, kind="k1"):
    log_r = ref_logp - logp
    estimators = {"k1": lambda: -log_r, "k2": lambda: log_r ** 2 / 2, "k3": lambda: torch.expm1(log_r) - log_r}
    if kind not in estimators:
        raise ValueError(f"unknown estimator {kind}")
    return torch.where(mask, estimators[kind](), torch.zeros_like(logp))
'''},
    ],
    "gae": [
        {"name": "a list of columns, stacked at the end", "code": '''
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(values.dtype)
    v = values * m
    columns, next_value, next_adv = [], torch.zeros_like(v[:, 0]), torch.zeros_like(v[:, 0])
    for t in range(v.shape[1] - 1, -1, -1):
        adv = (rewards[:, t] + gamma * next_value - v[:, t] + gamma * lam * next_adv) * m[:, t]
        columns.append(adv)
        next_value, next_adv = v[:, t], adv
    advantages = torch.stack(columns[::-1], dim=1)
    return advantages, (advantages + v) * m
'''},
    ],
    "group_advantages": [
        {"name": "unbiased std written out", "code": '''
def group_advantages(rewards, group_size, eps=1e-4):
    if rewards.numel() % group_size != 0:
        raise ValueError("the batch must divide into groups")
    g = rewards.reshape(-1, group_size)
    mean = g.mean(dim=1, keepdim=True)
    std = ((g - mean) ** 2).sum(dim=1, keepdim=True).div(group_size - 1).sqrt()
    return ((g - mean) / (std + eps)).flatten()
'''},
    ],
}
