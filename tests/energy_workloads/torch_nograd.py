"""Test workload: a tiny MLP evaluated under torch.no_grad()."""

import torch

WARMUP = 1


def run(size: str = "cpu"):
    torch.manual_seed(0)
    device = "cuda" if size == "gpu" else "cpu"
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4)).to(device).eval()
    x = torch.randn(16, 32, device=device)
    with torch.no_grad():
        return model(x)
