"""Greedy decoding with a tiny language model, step by step."""

import torch as T
from torch import nn


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 100, dim: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, ids):
        return self.head(self.embed(ids))


lm = TinyLM()
lm.eval()
ids = T.zeros(1, 1, dtype=T.long)
for _ in range(20):
    logits = lm(ids)[:, -1]
    ids = T.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
print(ids.tolist())
