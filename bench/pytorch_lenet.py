"""LeNet-5 on MNIST with PyTorch: the reference figures for the Rust benchmark.

The same two models as bench/keras_lenet.py and crates/lenet:
  keras    28x28 input in [0, 1], Conv2d(1, 6, 5) relu, MaxPool 2, Conv2d(6, 16, 5) relu,
           MaxPool 2, Flatten (256), Linear 120 relu, Linear 84 relu, Linear 10 (softmax folded
           into the cross-entropy loss, as usual in PyTorch).
  classic  32x32 zero-padded input, standardised, Conv2d(1, 6, 5) tanh, AvgPool 2 then tanh,
           Conv2d(6, 16, 5) tanh, AvgPool 2 then tanh, C5 Conv2d(16, 120, 5) tanh, Linear 84
           tanh, Linear 10.
Adam (learning rate 1e-3, epsilon 1e-7), batch 128, cross-entropy.

Measured per model, on 2 threads (torch.set_num_threads(2), one inter-op thread):
  training    images/s of a plain training loop (shuffle, index the batch, forward, loss,
              backward, Adam step, loss and accuracy read back every batch) over --epochs epochs
              of --limit images (default one epoch of 60,000), after --warmup-epochs epochs;
  inference   images/s over the 10,000 test images in batches of 1,000 under
              torch.inference_mode(): forward and argmax on tensors built beforehand;
  latency     one image, the same call, median and 95th percentile of 200 calls.

MNIST is read from the IDX .gz files in --data-dir (default: $MNIST_DIR); nothing is downloaded.

    python bench/pytorch_lenet.py                    # both models, full measurement
    python bench/pytorch_lenet.py --limit 6400 --variants keras      # quick
"""

import platform
import time

import numpy as np
import torch
from torch import nn

from common import (LATENCY_COLUMNS, THREADS, TRAIN_COLUMNS, load_mnist, normalise, parse_args,
                    report)


def prepare(images, variant):
    """NCHW float32 input as crates/mnist builds it (see common.normalise)."""
    return torch.from_numpy(np.ascontiguousarray(normalise(images, variant)[:, np.newaxis]))


def build_model(variant):
    if variant == "keras":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Tanh(),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Tanh(),
        nn.Conv2d(16, 120, 5), nn.Tanh(),
        nn.Flatten(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10),
    )


def train_epoch(model, optimizer, loss_fn, x, y, batch_size=128):
    model.train()
    order = torch.randperm(len(x))
    correct = 0
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        images, targets = x[index], y[index]
        optimizer.zero_grad(set_to_none=True)
        logits = model(images)
        loss = loss_fn(logits, targets)
        loss.backward()
        optimizer.step()
        loss.item()
        correct += int((logits.argmax(1) == targets).sum())
    return correct / len(x)


def measure(variant, data, args):
    train_x, train_y, test_x, test_y = data
    x = prepare(train_x[: args.limit], variant)
    y = torch.from_numpy(train_y[: args.limit])
    model = build_model(variant)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    for _ in range(args.warmup_epochs):
        train_epoch(model, optimizer, loss_fn, x, y)
    start = time.perf_counter()
    for _ in range(args.epochs):
        train_epoch(model, optimizer, loss_fn, x, y)
    train_rate = len(x) * args.epochs / (time.perf_counter() - start)

    model.eval()
    test = prepare(test_x, variant)
    batches = list(torch.split(test, 1000))
    with torch.inference_mode():
        def classify(images):
            return model(images).argmax(1).numpy()

        accuracy = float(np.mean(np.concatenate([classify(b) for b in batches]) == test_y))
        infer_rates = []
        for _ in range(3):
            start = time.perf_counter()
            for batch in batches:
                classify(batch)
            infer_rates.append(len(test) / (time.perf_counter() - start))

        one = test[:1].clone()
        for _ in range(20):
            classify(one)
        times = []
        for _ in range(args.latency_calls):
            start = time.perf_counter()
            classify(one)
            times.append((time.perf_counter() - start) * 1e3)

    return {
        "train": train_rate,
        "infer": float(np.median(infer_rates)),
        "latency_median": float(np.median(times)),
        "latency_p95": float(np.percentile(times, 95)),
        "accuracy": accuracy,
    }


def main():
    args = parse_args(__doc__.split("\n")[0])
    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.manual_seed(42)

    data = load_mnist(args.data_dir)
    print(f"PyTorch {torch.__version__}, Python {platform.python_version()}, NumPy "
          f"{np.__version__}; {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()} kernels, "
          f"mkldnn {torch.backends.mkldnn.is_available()}")
    report("pytorch", TRAIN_COLUMNS + LATENCY_COLUMNS, data, args, measure,
           version=f"PyTorch {torch.__version__}")

if __name__ == "__main__":
    main()
