"""What the two reference scripts share: their options, MNIST from the IDX files, the
input step of crates/mnist, and the table they print."""

import argparse
import gzip
import json
import os

import numpy as np

THREADS = 2


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"),
                        help="directory holding the four MNIST IDX .gz files ($MNIST_DIR)")
    parser.add_argument("--variants", default="classic,keras",
                        help="comma-separated: classic, keras")
    parser.add_argument("--epochs", type=int, default=1, help="measured training epochs")
    parser.add_argument("--warmup-epochs", type=int, default=1, help="unmeasured epochs first")
    parser.add_argument("--limit", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--json", help="also write the figures as JSON to this file "
                        "(read by bench/compare)")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("set --data-dir or MNIST_DIR")
    return args


def read_idx(path, header_bytes):
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), dtype=np.uint8, offset=header_bytes)


def load_mnist(data_dir):
    """(train images, train labels, test images, test labels); images u8 [n, 28, 28]."""
    def images(name):
        return read_idx(os.path.join(data_dir, name), 16).reshape(-1, 28, 28)

    def labels(name):
        return read_idx(os.path.join(data_dir, name), 8).astype(np.int64)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def normalise(images, variant):
    """float32 [n, side, side] as crates/mnist builds it: keras [0, 1] 28x28; classic padded
    with background to 32x32, then standardised with MNIST's mean and standard deviation."""
    x = images.astype(np.float32) / 255.0
    if variant == "classic":
        x = np.pad(x, ((0, 0), (2, 2), (2, 2)))
        x = (x - 0.1307) / 0.3081
    return x


# The columns both frameworks report: (title, key of measure()'s result, format).
TRAIN_COLUMNS = [("training images/s", "train", ",.0f"),
                 ("inference images/s (batch 1000)", "infer", ",.0f")]
LATENCY_COLUMNS = [("latency median ms", "latency_median", ".3f"),
                   ("latency p95 ms", "latency_p95", ".3f"),
                   ("test accuracy", "accuracy", ".4f")]


def report(framework, columns, data, args, measure, version=""):
    """Prints the run's conditions and a Markdown table with one row per variant, measuring
    each with `measure(variant, data, args)`; with --json, writes the figures there too."""
    print(f"training: {args.epochs} epoch(s) of {min(args.limit, len(data[0]))} images after "
          f"{args.warmup_epochs} warm-up epoch(s); load average {os.getloadavg()}\n")
    print("| framework | variant | " + " | ".join(title for title, _, _ in columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    results = {}
    for variant in args.variants.split(","):
        result = measure(variant.strip(), data, args)
        results[variant.strip()] = result
        cells = " | ".join(format(result[key], spec) for _, key, spec in columns)
        print(f"| {framework} | {variant} | {cells} |", flush=True)
    print(f"\nload average at the end {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"framework": framework, "version": version, "variants": results}, file,
                      indent=2)
