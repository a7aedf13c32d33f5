"""Recorded common mistakes for lesson 04: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.

ALTERNATIVES holds correct answers written differently from the solution; each must pass.
"""

MISTAKES = {
    "sample_batch": [
        {
            "name": "unshifted targets (the targets are the inputs)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    return inputs, inputs.clone()
''',
            "says": "unshifted targets",
        },
        {
            "name": "targets shifted the wrong way (the previous token)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    offsets = torch.arange(context_length)
    return tokens[starts[:, None] + offsets], tokens[starts[:, None] + offsets - 1]
''',
            "says": "shifted the wrong way",
        },
        {
            "name": "starts drawn from one position fewer than there are",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length - 1, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    targets = torch.stack([tokens[s + 1 : s + context_length + 1] for s in starts])
    return inputs, targets
''',
            "says": "draw the starts with torch.randint(len(tokens) - context_length",
        },
        {
            "name": "returns the whole window of T + 1 tokens as the inputs",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    windows = torch.stack([tokens[s : s + context_length + 1] for s in starts])
    return windows, windows[:, 1:]
''',
            "says": "should have shape",
        },
        {
            "name": "ignores the generator",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,))
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    targets = torch.stack([tokens[s + 1 : s + context_length + 1] for s in starts])
    return inputs, targets
''',
            "says": "generator=generator",
        },
        {
            "name": "float token ids (a float tensor filled row by row)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    inputs = torch.zeros(batch_size, context_length)
    targets = torch.zeros(batch_size, context_length)
    for b, s in enumerate(starts):
        inputs[b] = tokens[s : s + context_length]
        targets[b] = tokens[s + 1 : s + context_length + 1]
    return inputs, targets
''',
            "says": "float token ids cannot index an embedding",
        },
        {
            "name": "one start for the whole batch",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    s = int(torch.randint(len(tokens) - context_length, (1,), generator=generator))
    inputs = tokens[s : s + context_length].repeat(batch_size, 1)
    targets = tokens[s + 1 : s + context_length + 1].repeat(batch_size, 1)
    return inputs, targets
''',
            "says": "every row of the batch is the same window",
        },
        {
            "name": "one start too many (randint(N - T + 1)): the last window runs past the end",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length + 1, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    targets = torch.stack([tokens[s + 1 : s + context_length + 1] for s in starts])
    return inputs, targets
''',
            "says": "must stay below len(tokens) - T",
        },
        {
            "name": "batch and context swapped: (T, B) instead of (B, T)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    offsets = torch.arange(context_length)
    return tokens[starts + offsets[:, None]], tokens[starts + offsets[:, None] + 1]
''',
            "says": "should have shape (5, 8), got (8, 5)",
        },
        {
            "name": "window index past the end of the stream (starts from randint(len(tokens)))",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens), (batch_size,), generator=generator)
    offsets = torch.arange(context_length)
    return tokens[starts[:, None] + offsets], tokens[starts[:, None] + offsets + 1]
''',
            "says": "must stay below len(tokens) - T",
        },
    ],
    "causal_lm_loss": [
        {
            "name": "unshifted targets: position t scored against the token it has read",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
''',
            "says": "unshifted targets",
        },
        {
            "name": "shift in the wrong direction",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, 1:].reshape(-1, V), labels[:, :-1].reshape(-1), ignore_index=-100)
''',
            "says": "the shift goes the wrong way",
        },
        {
            "name": "softmax before cross_entropy",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    probs = torch.softmax(logits[:, :-1], dim=-1)
    return F.cross_entropy(probs.reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
''',
            "says": "applied a softmax",
        },
        {
            "name": "labels rolled: the last position predicts the row's first token",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    targets = labels.roll(-1, dims=1)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
''',
            "says": "rolling the labels",
        },
        {
            "name": "padding scored as token 0",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    targets = labels[:, 1:].clamp(min=0)
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), targets.reshape(-1))
''',
            "says": "padding positions (-100) were scored",
        },
        {
            "name": "mean of the rows' means",
            "code": '''
def causal_lm_loss(logits, labels):
    losses = [F.cross_entropy(logits[b, :-1], labels[b, 1:], ignore_index=-100) for b in range(len(logits))]
    return torch.stack(losses).mean()
''',
            "says": "averaged each row's mean",
        },
        {
            "name": "sum instead of mean",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100,
                           reduction="sum")
''',
            "says": "summed the losses",
        },
        {
            "name": "returns loss.item(), a Python float",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100).item()
''',
            "says": "a Python float (.item()) has no computation graph",
        },
        {
            "name": "a detached loss (rebuilt with torch.tensor)",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    return torch.tensor(loss.item(), dtype=logits.dtype)
''',
            "says": "the loss is detached from the logits",
        },
        {
            "name": ".view on the sliced logits (not contiguous)",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].view(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
''',
            "says": "use .reshape(-1, V)",
        },
        {
            "name": "ignore_index=0 (padding taken for token 0): the label -100 reaches cross_entropy",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=0)
''',
            "says": "pass ignore_index=-100",
        },
        {
            "name": "masked mean divided by every position, padding included",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    targets = labels[:, 1:].reshape(-1)
    losses = F.cross_entropy(logits[:, :-1].reshape(-1, V), targets, ignore_index=-100, reduction="none")
    return losses.sum() / targets.numel()
''',
            "says": "divided by every position, padding included",
        },
        {
            "name": "log of the softmax (underflows for widely spread logits)",
            "code": '''
def causal_lm_loss(logits, labels):
    scores, targets = logits[:, :-1], labels[:, 1:]
    scored = targets != -100
    probs = torch.softmax(scores, dim=-1)
    picked = probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(torch.log(picked) * scored).sum() / scored.sum()
''',
            "says": "underflows to log(0)",
        },
        {
            "name": "the logits converted to float32",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
''',
            "says": "do not convert the logits",
        },
    ],
    "training_step": [
        {
            "name": "missing zero_grad",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "missing zero_grad",
        },
        {
            "name": "clipping after the optimizer step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scheduler.step()
    return loss.item()
''',
            "says": "clipped after the optimizer step",
        },
        {
            "name": "no clipping at all",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "were not clipped",
        },
        {
            "name": "zero_grad between backward and step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.zero_grad()
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "zero_grad came between backward and step",
        },
        {
            "name": "scheduler stepped before the optimizer",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scheduler.step()
    optimizer.step()
    return loss.item()
''',
            "says": "scheduler.step() came before optimizer.step()",
        },
        {
            "name": "no scheduler step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()
''',
            "says": "scheduler.step() is missing",
        },
        {
            "name": "returns the loss tensor",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss
''',
            "says": "loss.item()",
        },
        {
            "name": "forward pass under torch.no_grad() (a detached loss)",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    with torch.no_grad():
        _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "the loss is detached from the graph",
        },
        {
            "name": ".item() before backward",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    loss = model(inputs, targets)[1].item()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss
''',
            "says": "you called .item() before backward",
        },
        {
            "name": "the model called without the targets",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "computes the loss only when it is given the targets",
        },
        {
            "name": "the model's pair not unpacked",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "returns a pair (logits, loss)",
        },
        {
            "name": "clip_grad_value_ instead of clip_grad_norm_",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "clip_grad_value_",
        },
        {
            "name": "clipped to a norm of 1 whatever max_norm says",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "not to max_norm",
        },
        {
            "name": "returns the loss of a second forward pass after the step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    with torch.no_grad():
        _, loss = model(inputs, targets)
    return loss.item()
''',
            "says": "the loss computed AFTER the step",
        },
    ],
    "train_loop": [
        {
            "name": 'micro-batch losses not divided by accumulation_steps',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            loss.backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'were not divided by accumulation_steps',
        },
        {
            "name": 'gradients cleared before every micro-batch',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            optimizer.zero_grad()
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'cleared before every micro-batch',
        },
        {
            "name": 'optimizer stepped after every micro-batch',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'stepped the optimizer after every micro-batch',
        },
        {
            "name": 'no clipping',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'were not clipped',
        },
        {
            "name": "the last micro-batch's loss recorded",
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss = loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": "recorded the last micro-batch's loss",
        },
        {
            "name": "the micro-batches' losses summed",
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": "recorded the sum of the micro-batches' losses",
        },
        {
            "name": 'one evaluation generator for the whole run',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    generator = torch.Generator().manual_seed(eval_seed)
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'must score the SAME windows',
        },
        {
            "name": 'the model left in evaluation mode',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'left in evaluation mode',
        },
        {
            "name": 'no evaluation after the last step',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if eval_every > 0 and step % eval_every == 0:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'the steps after which you evaluated',
        },
        {
            "name": 'the training forward under torch.no_grad()',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            with torch.no_grad():
                _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
            "says": 'only the evaluation runs under torch.no_grad()',
        },
    ],
    "mask_for_mlm": [
        {
            "name": "masks special tokens",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    chosen = torch.rand(ids.shape, generator=generator) < 0.15
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = torch.randint(len(special_ids) + 1, vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "masked special tokens",
        },
        {
            "name": "loss on unmasked positions (labels are the ids everywhere)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    return inputs, ids.clone()
''',
            "says": "loss on unmasked positions",
        },
        {
            "name": "every chosen token becomes [MASK] (no 80/10/10)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    inputs = ids.clone()
    inputs[chosen] = mask_id
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "80% become [MASK]",
        },
        {
            "name": "labels hold the masked input instead of the original token",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = inputs[chosen]
    return inputs, labels
''',
            "says": "ORIGINAL token",
        },
        {
            "name": "random replacement drawn from the whole vocabulary (special tokens too)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "random replacement must be an ordinary token",
        },
        {
            "name": "ignores the generator",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "generator=generator",
        },
        {
            "name": "labels 0 (not -100) where nothing is predicted",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.zeros_like(ids)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "not 0",
        },
        {
            "name": "only the [MASK] positions scored",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    masked = chosen & (action < 0.8)
    inputs[masked] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[masked] = ids[masked]
    return inputs, labels
''',
            "says": "only the [MASK] positions have labels",
        },
        {
            "name": "changes ids in place",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    ids[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    ids[to_random] = random_tokens[to_random]
    return ids, labels
''',
            "says": "changed its input tensor in place",
        },
        {
            "name": "float labels (torch.full with -100.0)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full(ids.shape, -100.0)
    labels[chosen] = ids[chosen].float()
    return inputs, labels
''',
            "says": "integer tensors of the dtype of ids",
        },
        {
            "name": "[MASK] already in the input may be chosen (only special_ids excluded)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, torch.tensor(list(special_ids)))
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "you masked special tokens",
        },
        {
            "name": "90% [MASK] and 10% random, none left unchanged",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.9)] = mask_id
    to_random = chosen & (action >= 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "80% become [MASK]",
        },
    ],
    "make_nsp_pairs": [
        {
            "name": "a random second sentence may be the true next one",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        second = first + 1 if label == 1 else int(torch.randint(n, (1,), generator=generator))
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "IS the true next sentence",
        },
        {
            "name": "labels by a coin flip (not exactly half)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    pairs = []
    for _ in range(n_pairs):
        label = int(torch.rand(1, generator=generator) < 0.5)
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "exactly n_pairs // 2",
        },
        {
            "name": "the last sentence paired with the first one (wrap-around)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n, (1,), generator=generator))
        following = (first + 1) % n
        if label == 1:
            second = following
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= following:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "the last sentence has no next sentence",
        },
        {
            "name": "labels swapped (1 for random pairs)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([1] * (n_pairs // 2) + [0] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 0:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "swapped labels",
        },
        {
            "name": "the two kinds are not shuffled",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    pairs = []
    for label in [0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2):
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "not shuffled",
        },
        {
            "name": "the NotNext second sentence is always first + 2",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        second = first + 1 if label == 1 else (first + 2) % n
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "every NotNext second sentence is first +2",
        },
        {
            "name": "first drawn from randint(n - 2): the second-to-last sentence is never first",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 2, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "was never drawn as `first`",
        },
        {
            "name": "the random second sentence never the last one (randint(n - 2) then skip)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 2, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "never appears as the second sentence of a NotNext pair",
        },
        {
            "name": "labels left as 0-d tensors",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels:
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "label 0 or 1 as an int",
        },
    ],
    "fit_power_law": [
        {
            "name": "alpha with the wrong sign (returns the slope)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), slope.item()
''',
            "says": "wrong sign",
        },
        {
            "name": "returns the intercept log(a) instead of a",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return intercept.item(), -slope.item()
''',
            "says": "log(a)",
        },
        {
            "name": "axes swapped (log x regressed on log y)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(y), torch.log(x)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "axes are swapped",
        },
        {
            "name": "a straight line through the raw (x, y)",
            "code": '''
def fit_power_law(x, y):
    dx, dy = x - x.mean(), y - y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = y.mean() - slope * x.mean()
    return intercept.item(), -slope.item()
''',
            "says": "log-log space",
        },
        {
            "name": "log10 for the fit, exp for a",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log10(x), torch.log10(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "mixed logarithm bases",
        },
        {
            "name": "returns (alpha, a) in the wrong order",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return -slope.item(), math.exp(intercept.item())
''',
            "says": "in the order (a, alpha)",
        },
        {
            "name": "a line through the origin (no intercept)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    slope = (log_x * log_y).sum() / (log_x * log_x).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "no intercept",
        },
        {
            "name": "a = exp(-intercept)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(-intercept.item()), -slope.item()
''',
            "says": "not exp(-intercept)",
        },
        {
            "name": "the line through the first and last points",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    slope = (log_y[-1] - log_y[0]) / (log_x[-1] - log_x[0])
    intercept = log_y[0] - slope * log_x[0]
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "first and last points only",
        },
        {
            "name": "returns tensors, not Python floats",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return torch.exp(intercept), -slope
''',
            "says": "should return Python floats",
        },
    ],
}

ALTERNATIVES = {
    "sample_batch": [
        {
            "name": "slices stacked in a loop, returned as a list",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts.tolist()])
    targets = torch.stack([tokens[s + 1 : s + 1 + context_length] for s in starts.tolist()])
    return [inputs, targets]
''',
        },
        {
            "name": "unfold into every window, then pick the rows",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(0, len(tokens) - context_length, (batch_size,), generator=generator)
    windows = tokens.unfold(0, context_length + 1, 1)[starts]   # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]
''',
        },
        {
            "name": "one start drawn per row",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    inputs, targets = [], []
    for _ in range(batch_size):
        s = torch.randint(len(tokens) - context_length, (1,), generator=generator).item()
        inputs.append(tokens[s : s + context_length])
        targets.append(tokens[s + 1 : s + context_length + 1])
    return torch.stack(inputs), torch.stack(targets)
''',
        },
    ],
    "causal_lm_loss": [
        {
            "name": "log_softmax, gather and a masked mean",
            "code": '''
def causal_lm_loss(logits, labels):
    log_probs = F.log_softmax(logits[:, :-1], dim=-1)                   # (B, T - 1, V)
    targets = labels[:, 1:]                                             # (B, T - 1)
    scored = targets != -100
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * scored).sum() / scored.sum()
''',
        },
        {
            "name": "nll_loss of log_softmax, contiguous().view",
            "code": '''
def causal_lm_loss(logits, labels):
    B, T, V = logits.shape
    log_probs = torch.log_softmax(logits[:, :-1].contiguous().view(B * (T - 1), V), dim=-1)
    return F.nll_loss(log_probs, labels[:, 1:].contiguous().view(-1), ignore_index=-100)
''',
        },
        {
            "name": "labels shifted left and padded with -100, every position passed",
            "code": '''
def causal_lm_loss(logits, labels):
    pad = torch.full_like(labels[:, :1], -100)
    targets = torch.cat([labels[:, 1:], pad], dim=1)                   # (B, T): the last one scores nothing
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
''',
        },
        {
            "name": "cross_entropy's default ignore_index (which is -100)",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.size(-1)
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1))
''',
        },
        {
            "name": "cross_entropy with the classes in dim 1",
            "code": '''
def causal_lm_loss(logits, labels):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], ignore_index=-100)
''',
        },
    ],
    "training_step": [
        {
            "name": "gradients set to None by hand, float(loss)",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    for p in model.parameters():
        p.grad = None
    logits, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=max_norm, norm_type=2.0)
    optimizer.step()
    scheduler.step()
    return float(loss)
''',
        },
        {
            "name": "model.zero_grad(set_to_none=False), the loss read before clipping",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    model.zero_grad(set_to_none=False)
    loss = model(inputs, targets)[1]
    value = loss.item()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return value
''',
        },
    ],
    "mask_for_mlm": [
        {
            "name": "bernoulli draws and torch.where, a list returned",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    blocked = torch.zeros_like(ids, dtype=torch.bool)
    for token in list(special_ids) + [mask_id]:
        blocked |= ids == token
    chosen = torch.bernoulli(torch.full(ids.shape, 0.15), generator=generator).bool() & ~blocked
    to_mask = chosen & torch.bernoulli(torch.full(ids.shape, 0.8), generator=generator).bool()
    to_random = chosen & ~to_mask & torch.bernoulli(torch.full(ids.shape, 0.5), generator=generator).bool()
    allowed = [i for i in range(vocab_size) if i not in set(special_ids) and i != mask_id]
    random_tokens = torch.tensor(allowed)[torch.randint(len(allowed), ids.shape, generator=generator)]
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_tokens, inputs)
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    return [inputs, labels]
''',
        },
    ],
    "make_nsp_pairs": [
        {
            "name": "lists of three, the negative drawn until it is not the true next one",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    order = torch.randperm(n_pairs, generator=generator).tolist()
    labels = [0 if k < n_pairs // 2 else 1 for k in order]
    pairs = []
    for label in labels:
        i = torch.randint(0, len(sentences) - 1, (), generator=generator).item()
        j = i + 1
        while label == 0 and j == i + 1:
            j = torch.randint(0, len(sentences), (), generator=generator).item()
        pairs.append([sentences[i], sentences[j], label])
    return pairs
''',
        },
        {
            "name": "the negative never the first sentence itself either",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = [0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2)
    labels = [labels[k] for k in torch.randperm(n_pairs, generator=generator).tolist()]
    pairs = []
    for label in labels:
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label:
            pairs.append((sentences[first], sentences[first + 1], 1))
        else:
            others = [k for k in range(n) if k not in (first, first + 1)] or [first]
            second = others[int(torch.randint(len(others), (1,), generator=generator))]
            pairs.append((sentences[first], sentences[second], 0))
    return pairs
''',
        },
    ],
    "fit_power_law": [
        {
            "name": "torch.linalg.lstsq, returned as a list",
            "code": '''
def fit_power_law(x, y):
    design = torch.stack([torch.ones_like(x), torch.log(x)], dim=1)   # (n, 2)
    solution = torch.linalg.lstsq(design, torch.log(y)[:, None]).solution
    intercept, slope = solution[:, 0].tolist()
    return [math.exp(intercept), -slope]
''',
        },
        {
            "name": "numpy's polyfit",
            "code": '''
import numpy as np
def fit_power_law(x, y):
    slope, intercept = np.polyfit(np.log(x.numpy()), np.log(y.numpy()), 1)
    return float(np.exp(intercept)), float(-slope)
''',
        },
        {
            "name": "the normal equations written with sums",
            "code": '''
def fit_power_law(x, y):
    u, v = torch.log(x), torch.log(y)
    n = len(u)
    slope = (n * (u * v).sum() - u.sum() * v.sum()) / (n * (u * u).sum() - u.sum() ** 2)
    intercept = (v.sum() - slope * u.sum()) / n
    return math.exp(float(intercept)), -float(slope)
''',
        },
    ],
    "train_loop": [
        {
            "name": 'a list of micro-batch losses, zero_grad(set_to_none=True) after the step, torch.inference_mode',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        micro_losses = []
        for micro_inputs, micro_targets in zip(inputs.chunk(k), targets.chunk(k)):
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            micro_losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        history["loss"].append(sum(micro_losses) / len(micro_losses))
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.inference_mode():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
        },
        {
            "name": 'micro-batches by slicing with their size',
            "code": '''
def train_loop(model, optimizer, scheduler, train_data, val_data, max_steps, accumulation_steps, max_norm,
               eval_every, eval_batches, eval_seed):
    history = {"loss": [], "val_step": [], "val_loss": []}
    k = accumulation_steps
    for step in range(1, max_steps + 1):
        inputs, targets = train_data.sample()
        optimizer.zero_grad()
        step_loss = 0.0
        size = len(inputs) // k
        for i in range(0, len(inputs), size):
            micro_inputs, micro_targets = inputs[i : i + size], targets[i : i + size]
            _, loss = model(micro_inputs, micro_targets)
            (loss / k).backward()
            step_loss += loss.item() / k
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        history["loss"].append(step_loss)
        if (eval_every > 0 and step % eval_every == 0) or step == max_steps:
            model.eval()
            generator = torch.Generator().manual_seed(eval_seed)
            with torch.no_grad():
                losses = [model(*val_data.sample(generator=generator))[1].item() for _ in range(eval_batches)]
            model.train()
            history["val_step"].append(step)
            history["val_loss"].append(sum(losses) / len(losses))
    return history
''',
        },
    ],
}
