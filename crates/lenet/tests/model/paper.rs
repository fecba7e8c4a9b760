//! The paper's network: Table I, the RBF bitmaps, the MAP criterion and the curvature estimate
//! that SDLM steps with.

use crate::common::{fixed_images, fixed_model, values};
use burn::{
    backend::{Autodiff, NdArray},
    module::Module,
    prelude::*,
};
use lenet::{C3, C3_TABLE, LeNet5Config, Output, TableConv2d, Variant, map_loss, rbf_bitmaps};

type B = Autodiff<NdArray>;

fn paper() -> LeNet5Config {
    LeNet5Config::new().with_variant(Variant::LeCun1998)
}

#[test]
fn a_c3_map_reads_only_the_s2_maps_of_table_one() {
    let device = Default::default();
    let table = TableConv2d::<B>::new(&C3_TABLE, 6, 5, &device);
    assert_eq!(table.kernels.dims(), [60, 5, 5]);
    let read: Vec<Vec<usize>> = C3_TABLE.iter().map(|maps| maps.to_vec()).collect();
    assert_eq!(table.table(), read);
    let x = Tensor::<B, 4>::random([2, 6, 14, 14], burn::tensor::Distribution::Default, &device)
        .require_grad();
    for (map, inputs) in C3_TABLE.iter().enumerate() {
        // Every S2 map outside the table gets exactly zero gradient from this C3 map...
        // A graph is consumed by its backward pass: each map gets a forward pass of its own.
        let y = table.forward(x.clone(), lenet::Activation::ScaledTanh);
        let grads = y.clone().narrow(1, map, 1).sum().backward();
        let input_grad = x.grad(&grads).expect("tracked");
        for s2 in 0..6 {
            let g = values(input_grad.clone().narrow(1, s2, 1));
            let touched = g.iter().any(|&v| v != 0.0);
            assert_eq!(touched, inputs.contains(&s2), "C3 map {map}, S2 map {s2}");
        }
        // ...and changing it leaves the map as it was.
        let outside: Vec<usize> = (0..6).filter(|s2| !inputs.contains(s2)).collect();
        if let Some(&s2) = outside.first() {
            let bump = Tensor::<B, 4>::zeros([2, 6, 14, 14], &device).slice_assign(
                [0..2, s2..s2 + 1, 0..14, 0..14],
                Tensor::ones([2, 1, 14, 14], &device),
            );
            let moved = table.forward(x.clone() + bump, lenet::Activation::ScaledTanh);
            assert_eq!(
                values(moved.narrow(1, map, 1)),
                values(y.clone().narrow(1, map, 1)),
                "C3 map {map} moved with S2 map {s2}"
            );
        }
    }
    // The assembled weight holds zeros exactly where the table connects nothing.
    let weight = values(table.weight());
    for (map, inputs) in C3_TABLE.iter().enumerate() {
        for s2 in 0..6 {
            let kernel = &weight[(map * 6 + s2) * 25..][..25];
            assert_eq!(kernel.iter().all(|&v| v == 0.0), !inputs.contains(&s2));
        }
    }
}

#[test]
fn the_rbf_bitmaps_are_ten_distinct_7x12_digits() {
    let bitmaps = rbf_bitmaps();
    assert_eq!(bitmaps.len(), 10);
    for (i, a) in bitmaps.iter().enumerate() {
        assert_eq!(a.len(), 84);
        assert!(a.iter().all(|&v| v == 1.0 || v == -1.0));
        for b in &bitmaps[i + 1..] {
            let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
            assert!(differ >= 8, "two bitmaps differ in only {differ} pixels");
        }
    }
    // An F6 state equal to a bitmap is at distance 0 from it and classified as its digit.
    let device = Default::default();
    let model = paper().init::<B>(&device);
    let Output::Rbf(rbf) = &model.output else {
        panic!("the paper's output is RBF")
    };
    let state = Tensor::<B, 1>::from_floats(bitmaps[7].as_slice(), &device).unsqueeze();
    let distances = values(rbf.forward(state));
    assert_eq!(distances[7], 0.0);
    assert!(
        distances
            .iter()
            .enumerate()
            .all(|(i, &d)| i == 7 || d >= 32.0)
    );
}

#[test]
fn the_map_criterion_is_equation_nine() {
    let device = Default::default();
    let distances = Tensor::<NdArray, 2>::from_floats(
        [[1.0, 5.0, 9.0, 2.0, 30.0, 7.0, 3.0, 8.0, 6.0, 4.0]; 2],
        &device,
    );
    let targets = Tensor::<NdArray, 1, Int>::from_ints([0, 3], &device);
    let j = 2.5f64;
    let row = [1.0f64, 5.0, 9.0, 2.0, 30.0, 7.0, 3.0, 8.0, 6.0, 4.0];
    let log_term = ((-j).exp() + row.iter().map(|y| (-y).exp()).sum::<f64>()).ln();
    let expected = ((1.0 + log_term) + (2.0 + log_term)) / 2.0;
    let loss = map_loss(distances, targets, j as f32).into_scalar() as f64;
    assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
}

/// F6's bias is the one parameter whose curvature has a closed form from the forward pass
/// alone: h = mean_p f'(a_k)^2 [sum_i 4 (x_k - w_ik)^2 p_i (1 - p_i) + 2 (1 - sum_i p_i)].
#[test]
fn the_curvature_estimate_is_the_papers_gauss_newton_diagonal() {
    let device = Default::default();
    let model = fixed_model::<B>(&paper(), &device);
    let batch = 5;
    let images = fixed_images::<B>(Variant::LeCun1998, batch, &device);
    let curvature = model
        .curvature(images.clone())
        .expect("the paper's network");

    // Every parameter has a finite, non-negative estimate, and some are positive.
    let mut count = 0;
    for (id, dims) in [
        (model.c1.weight.id, model.c1.weight.dims().to_vec()),
        (model.f6.weight.id, model.f6.weight.dims().to_vec()),
    ] {
        let h = match dims.len() {
            4 => values(curvature.get::<NdArray, 4>(id).expect("estimated")),
            _ => values(curvature.get::<NdArray, 2>(id).expect("estimated")),
        };
        assert!(h.iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!(h.iter().any(|&v| v > 0.0));
        count += 1;
    }
    assert_eq!(count, 2);
    if let C3::Table(table) = &model.c3 {
        let h = values(
            curvature
                .get::<NdArray, 3>(table.kernels.id)
                .expect("estimated"),
        );
        assert_eq!(h.len(), 60 * 25, "one estimate per kept C3 weight");
    }

    let layers = model.forward_layers(images);
    let f6 = values(layers.f6);
    let distances: Vec<f32> = values(layers.logits).iter().map(|v| -v).collect();
    let bitmaps = rbf_bitmaps();
    let (a, s, j) = (1.7159f64, 2.0 / 3.0, lenet::MAP_J as f64);
    let mut expected = vec![0.0f64; 84];
    for p in 0..batch {
        let y = &distances[p * 10..][..10];
        let z: f64 = (-j).exp() + y.iter().map(|&y| (-(y as f64)).exp()).sum::<f64>();
        let prob: Vec<f64> = y.iter().map(|&y| (-(y as f64)).exp() / z).collect();
        for (k, h) in expected.iter_mut().enumerate() {
            let x = f6[p * 84 + k] as f64;
            let slope = s / a * (a * a - x * x);
            let gauss_newton: f64 = (0..10)
                .map(|i| 4.0 * (x - bitmaps[i][k] as f64).powi(2) * prob[i] * (1.0 - prob[i]))
                .sum();
            *h += slope * slope * (gauss_newton + 2.0 * (1.0 - prob.iter().sum::<f64>()))
                / batch as f64;
        }
    }
    let bias = model.f6.bias.as_ref().expect("F6 has a bias");
    let got = values(curvature.get::<NdArray, 1>(bias.id).expect("estimated"));
    for (k, (&got, want)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "F6 bias {k}: {got} vs {want}"
        );
    }
}

#[test]
fn only_the_papers_network_has_a_curvature_estimate() {
    let device = Default::default();
    let classic = LeNet5Config::new().init::<B>(&device);
    let images = fixed_images::<B>(Variant::Classic, 2, &device);
    let error = classic.curvature(images).expect_err("refused");
    assert!(error.to_string().contains("lecun1998"), "{error}");
    assert_eq!(paper().init::<B>(&device).num_params(), 60_000);
}
