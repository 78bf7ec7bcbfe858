"""Train a small regressor on a CSV, then score new rows one at a time."""

import numpy as np
import pandas as pd
import torch
from torch import nn

device = "cuda" if torch.cuda.is_available() else "cpu"


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1))


def train(csv_path: str, epochs: int = 5) -> nn.Module:
    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        frame = pd.read_csv(csv_path)  # the same file, parsed again every epoch
        features = torch.tensor(frame.drop(columns="y").to_numpy()).to(device)
        target = torch.tensor(frame["y"].to_numpy(dtype=np.float32)).to(device)
        running = 0.0
        for start in range(0, len(features), 64):
            optimizer.zero_grad()
            prediction = model(features[start : start + 64].float()).squeeze(1)
            loss = nn.functional.mse_loss(prediction, target[start : start + 64])
            loss.backward()
            optimizer.step()
            running += loss.item()  # waits for the GPU every step
        print(f"epoch {epoch}: {running:.3f}")
    return model


def score(model: nn.Module, rows: torch.Tensor) -> list:
    model.eval()
    with torch.no_grad():
        return [model(row.unsqueeze(0)) for row in rows]  # one forward pass per row


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.random((512, 8)), columns=[f"x{i}" for i in range(8)])
    data["y"] = data.sum(axis=1)
    data.to_csv("/tmp/greenlint-example.csv", index=False)
    model = train("/tmp/greenlint-example.csv")
    print(score(model, torch.zeros(4, 8).to(device))[:2])
