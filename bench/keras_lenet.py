"""LeNet-5 on MNIST with TensorFlow/Keras: the reference figures for the Rust benchmark.

Two models, the same as crates/lenet:
  keras    the lecture's Keras code as printed: 28x28 input in [0, 1], Conv2D(6, 5, relu) (valid
           padding, 24x24 maps), MaxPool 2, Conv2D(16, 5, relu), MaxPool 2, Flatten (256),
           Dense 120 relu, Dense 84 relu, Dense 10 softmax: 44,426 parameters.
  classic  LeCun et al. (1998) as the lecture tabulates it: 32x32 zero-padded input,
           standardised, Conv2D(6, 5, tanh), AveragePooling2D 2 then tanh, Conv2D(16, 5, tanh),
           AveragePooling2D 2 then tanh, C5 Conv2D(120, 5, tanh), Dense 84 tanh, Dense 10.
Adam (learning rate 1e-3, epsilon 1e-7), batch 128, sparse categorical cross-entropy.

Measured per model, on 2 threads (intra-op 2, inter-op 1):
  training    images/s of `model.fit` over --epochs epochs of --limit images (default one
              epoch of 60,000), after --warmup-epochs warm-up epochs (tracing, first-call costs);
  inference   images/s over the 10,000 test images in batches of 1,000: a tf.function of the
              model call and argmax on tensors built beforehand (like the Rust benchmark), and
              `model.predict` for comparison;
  latency     one image through the same tf.function, median and 95th percentile of 200 calls.

MNIST is read from the IDX .gz files in --data-dir (default: $MNIST_DIR); nothing is downloaded.

    python bench/keras_lenet.py                      # both models, full measurement
    python bench/keras_lenet.py --limit 6400 --warmup-epochs 1 --variants keras   # quick
"""

import os
import platform
import time

# TensorFlow turns its oneDNN operations on by default only on CPUs it picks (the Intel Xeons
# of bench/README.md), not on an AMD EPYC, where it then trains several times slower
# (bench/README.md). The peers run at their best: on, unless the caller says otherwise. Set
# before TensorFlow is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np

from common import (LATENCY_COLUMNS, THREADS, TRAIN_COLUMNS, load_mnist, normalise, parse_args,
                    report)


def prepare(images, variant):
    """NHWC float32 input as crates/mnist builds it (see common.normalise)."""
    return normalise(images, variant)[..., np.newaxis]


def build_model(variant):
    from tensorflow import keras
    from tensorflow.keras import layers

    if variant == "keras":
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        from_logits = False
    else:
        model = keras.Sequential([
            keras.Input(shape=(32, 32, 1)),
            layers.Conv2D(6, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Activation("tanh"),
            layers.Conv2D(16, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Activation("tanh"),
            layers.Conv2D(120, 5, activation="tanh"),
            layers.Flatten(),
            layers.Dense(84, activation="tanh"),
            layers.Dense(10),
        ])
        from_logits = True
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )
    return model


def measure(variant, data, args):
    import tensorflow as tf

    train_x, train_y, test_x, test_y = data
    x = prepare(train_x[: args.limit], variant)
    y = train_y[: args.limit]
    model = build_model(variant)

    if args.warmup_epochs:
        model.fit(x, y, batch_size=128, epochs=args.warmup_epochs, shuffle=True, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=args.epochs, shuffle=True, verbose=0)
    train_rate = len(x) * args.epochs / (time.perf_counter() - start)

    test = prepare(test_x, variant)
    batches = [tf.constant(test[i:i + 1000]) for i in range(0, len(test), 1000)]

    @tf.function
    def classify(images):
        return tf.argmax(model(images, training=False), axis=1)

    predictions = np.concatenate([classify(batch).numpy() for batch in batches])  # warm-up
    accuracy = float(np.mean(predictions == test_y))
    infer_rates = []
    for _ in range(3):
        start = time.perf_counter()
        for batch in batches:
            classify(batch).numpy()
        infer_rates.append(len(test) / (time.perf_counter() - start))

    model.predict(test, batch_size=1000, verbose=0)  # warm-up
    start = time.perf_counter()
    model.predict(test, batch_size=1000, verbose=0)
    predict_rate = len(test) / (time.perf_counter() - start)

    one = tf.constant(test[:1])
    for _ in range(20):
        classify(one).numpy()
    times = []
    for _ in range(args.latency_calls):
        start = time.perf_counter()
        classify(one).numpy()
        times.append((time.perf_counter() - start) * 1e3)

    return {
        "train": train_rate,
        "infer": float(np.median(infer_rates)),
        "predict": predict_rate,
        "latency_median": float(np.median(times)),
        "latency_p95": float(np.percentile(times, 95)),
        "accuracy": accuracy,
    }


def main():
    args = parse_args(__doc__.split("\n")[0])
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(42)

    data = load_mnist(args.data_dir)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}; intra-op {THREADS}, inter-op 1")
    columns = TRAIN_COLUMNS + [("model.predict images/s", "predict", ",.0f")] + LATENCY_COLUMNS
    report("keras", columns, data, args, measure,
           version=f"TensorFlow {tf.__version__}, Keras {keras.__version__}")

if __name__ == "__main__":
    main()
