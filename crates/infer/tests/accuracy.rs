//! The model built into the binary is the trained one: at least 99.3% on MNIST's test set
//! (issue #30's floor for weights trained with clutter's leftovers).

mod common;

use burn::backend::NdArray;
use infer::{Classifier, ModelSource};

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn built_in_model_scores_at_least_99_3_percent_on_the_mnist_test_set() {
    let test = common::test_set();
    let classifier = Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default())
        .expect("the built-in model loads");
    let images: Vec<[u8; 784]> = (0..test.len())
        .filter_map(|i| test.image(i).copied())
        .collect();
    let correct: usize = images
        .chunks(1000)
        .zip(test.labels().chunks(1000))
        .map(|(batch, labels)| {
            classifier
                .classify(batch)
                .iter()
                .zip(labels)
                .filter(|(c, label)| c.digit == **label)
                .count()
        })
        .sum();
    let accuracy = correct as f64 / test.len() as f64;
    println!("built-in model: {correct}/{} correct", test.len());
    assert!(
        accuracy >= 0.993,
        "the built-in model scores {:.2}% on MNIST's test set, below 99.3%: put the weights and \
         config.toml of the best trained model in crates/lenet/pretrained/",
        100.0 * accuracy
    );
}
