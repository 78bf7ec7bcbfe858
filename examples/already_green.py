"""Inference done right: greenlint has nothing to say here."""

import torch
from torch import nn

model = nn.Sequential(nn.Linear(16, 4))
model.eval()


@torch.inference_mode()
def predict(batch):
    return model(batch).softmax(-1)


with torch.no_grad():
    print(predict(torch.randn(8, 16)).shape)
