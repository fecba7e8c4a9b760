//! Draws a trained network's convolution kernels, C1's 6 and C3's 16 x 6, as a PNG (in the
//! paper's network, C3's unconnected pairs show as zero kernels):
//!
//! ```sh
//! cargo run --example kernels -- artifacts/lenet5/model.mpk kernels.png
//! cargo run --example kernels -- crates/lenet/pretrained/model.mpk kernels.png   # built-in
//! ```

use burn::backend::NdArray;
use burn::tensor::Tensor;
use figures::Kernels;
use lenet::C3;

fn kernels(weight: Tensor<NdArray, 4>) -> Result<Kernels, Box<dyn std::error::Error>> {
    let [outputs, inputs, side, _] = weight.dims();
    let weights = weight
        .into_data()
        .to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    Ok(Kernels {
        outputs,
        inputs,
        side,
        weights,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out] = args.as_slice() else {
        return Err("usage: kernels MODEL.mpk OUT.png".into());
    };
    let network = lenet::load_file::<NdArray>(model, None, &Default::default())?;
    let title = format!(
        "LeNet-5 \"{}\": the learned convolution kernels",
        network.variant()
    );
    let picture = figures::kernels_with_source(
        &title,
        model,
        &kernels(network.c1.weight.val())?,
        &kernels(match &network.c3 {
            C3::Full(conv) => conv.weight.val(),
            C3::Table(table) => table.weight(),
        })?,
    )?;
    figures::save_png(&picture, std::path::Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}
