"""Source samples several test modules share: one GL101 finding with a safe decorator fix
(EVAL), and one generation loop fixed by a with-block spelled with the file's torch alias."""

EVAL = """\
import torch

def evaluate(model, loader):
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct
"""
EVAL_FIXED = EVAL.replace("def evaluate", "@torch.no_grad()\ndef evaluate")

GENERATE = """\
import torch as T

lm = load()
lm.eval()
ids = T.zeros(1, 1, dtype=T.long)
for _ in range(20):
    logits = lm(ids)[:, -1]
    ids = T.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
print(ids.tolist())
"""
GENERATE_FIXED = """\
import torch as T

lm = load()
lm.eval()
ids = T.zeros(1, 1, dtype=T.long)
with T.no_grad():
    for _ in range(20):
        logits = lm(ids)[:, -1]
        ids = T.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
print(ids.tolist())
"""


def write(root, name: str, text: str | bytes):
    """Write `text` (UTF-8 when a str) to root/name, creating folders; returns the path."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def example_rules(rule, options):
    """The rules an example of `rule` is checked with: just `rule`, except that a housekeeping
    rule (runs_last, e.g. unused-noqa) judges the others' findings, so they all run with it."""
    from greenlint.rules.base import all_rules

    others = [other() for other in all_rules() if other is not rule] if rule.runs_last else []
    return [rule(options), *others]
