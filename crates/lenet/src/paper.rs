//! The layers only the paper's own network has (LeCun et al., 1998, Section II-B): trainable
//! subsampling, C3's connection table and the Euclidean RBF output.

use burn::{
    module::Param,
    prelude::*,
    tensor::{Distribution, Int},
};

use lenet_kernels::{Activation, convolve, rbf, subsample_trainable};

/// Which S2 maps each C3 map reads (the paper's Table I): maps 0-5 take 3 contiguous S2 maps,
/// 6-11 take 4 contiguous, 12-14 take 4 non-contiguous and 15 takes all 6. Breaking the
/// symmetry this way makes the maps extract different features, and leaves 60 of the 96
/// kernels a full connection would have.
pub const C3_TABLE: [&[usize]; 16] = [
    &[0, 1, 2],
    &[1, 2, 3],
    &[2, 3, 4],
    &[3, 4, 5],
    &[0, 4, 5],
    &[0, 1, 5],
    &[0, 1, 2, 3],
    &[1, 2, 3, 4],
    &[2, 3, 4, 5],
    &[0, 3, 4, 5],
    &[0, 1, 4, 5],
    &[0, 1, 2, 5],
    &[0, 1, 3, 4],
    &[1, 2, 4, 5],
    &[0, 2, 3, 5],
    &[0, 1, 2, 3, 4, 5],
];

/// The 10 stylised 7x12 digit bitmaps the output units compare F6 with (see the file).
pub const RBF_DIGITS: &str = include_str!("rbf_digits.txt");
/// Width and height of each RBF bitmap.
pub const RBF_BITMAP: [usize; 2] = [7, 12];

/// The paper's initialisation: uniform in `(-2.4 / fan_in, 2.4 / fan_in)`.
pub(crate) fn uniform<B: Backend, const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    device: &B::Device,
) -> Tensor<B, D> {
    let bound = 2.4 / fan_in as f64;
    Tensor::random(shape, Distribution::Uniform(-bound, bound), device)
}

/// A subsampling layer of the paper (S2, S4): each unit adds the four inputs of its 2x2
/// window, multiplies the sum by its map's trainable coefficient, adds its map's trainable
/// bias and applies the squashing function. Two parameters per map.
#[derive(Module, Debug)]
pub struct Subsampling<B: Backend> {
    /// One coefficient per map, `[maps]`.
    pub coefficient: Param<Tensor<B, 1>>,
    /// One bias per map, `[maps]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Subsampling<B> {
    /// A layer over `maps` maps, initialised as the paper's (fan-in 4).
    pub fn new(maps: usize, device: &B::Device) -> Self {
        let fan_in = 4;
        Self {
            coefficient: Param::from_tensor(uniform([maps], fan_in, device)),
            bias: Param::from_tensor(uniform([maps], fan_in, device)),
        }
    }

    /// `activation(coefficient * (2x2 sum of x) + bias)`, `[batch, maps, h, w]` to
    /// `[batch, maps, h/2, w/2]`.
    pub fn forward(&self, x: Tensor<B, 4>, activation: Activation) -> Tensor<B, 4> {
        subsample_trainable(x, self.coefficient.val(), self.bias.val(), activation)
    }

    /// Feature maps.
    pub fn maps(&self) -> usize {
        self.coefficient.dims()[0]
    }
}

/// C3 as the paper connects it: a 5x5 convolution from S2's 6 maps to 16 maps in which C3
/// map `m` reads only the S2 maps `C3_TABLE[m]`. Only the 60 kernels the table keeps exist: they
/// are the layer's parameters, and the convolution runs on the full `[16, 6, 5, 5]` weight
/// assembled from them with zeros elsewhere, so an unconnected pair contributes nothing and
/// gets no gradient.
#[derive(Module, Debug)]
pub struct TableConv2d<B: Backend> {
    /// The kept kernels, `[60, 5, 5]`, map by map and, within a map, in increasing S2 order.
    pub kernels: Param<Tensor<B, 3>>,
    /// One bias per C3 map, `[16]`.
    pub bias: Param<Tensor<B, 1>>,
    /// For every (C3 map, S2 map) pair in row-major order, the index of its kernel in
    /// `kernels`, or 60 for the zero kernel appended after them. Derived from the table.
    index: Tensor<B, 1, Int>,
}

impl<B: Backend> TableConv2d<B> {
    /// The layer for `table` (C3 map -> the S2 maps it reads) over `inputs` maps with square
    /// kernels of side `kernel`, initialised as the paper's (each map's fan-in is its kernels'
    /// taps).
    pub fn new(table: &[&[usize]], inputs: usize, kernel: usize, device: &B::Device) -> Self {
        let kernels = table
            .iter()
            .map(|read| {
                uniform::<B, 3>(
                    [read.len(), kernel, kernel],
                    read.len() * kernel * kernel,
                    device,
                )
            })
            .collect();
        let bias = Tensor::cat(
            table
                .iter()
                .map(|read| uniform::<B, 1>([1], read.len() * kernel * kernel, device))
                .collect(),
            0,
        );
        let count: usize = table.iter().map(|read| read.len()).sum();
        let mut next = 0;
        let mut index = vec![count as i64; table.len() * inputs];
        for (map, read) in table.iter().enumerate() {
            for &input in *read {
                index[map * inputs + input] = next;
                next += 1;
            }
        }
        Self {
            kernels: Param::from_tensor(Tensor::cat(kernels, 0)),
            bias: Param::from_tensor(bias),
            index: Tensor::from_ints(index.as_slice(), device),
        }
    }

    /// The full weight `[maps, inputs, k, k]`: each pair's kernel, or zeros where the table
    /// connects nothing.
    pub fn weight(&self) -> Tensor<B, 4> {
        let kernels = self.kernels.val();
        let [_, height, width] = kernels.dims();
        let maps = self.bias.dims()[0];
        let inputs = self.index.dims()[0] / maps;
        let zero = Tensor::zeros([1, height, width], &kernels.device());
        Tensor::cat(vec![kernels, zero], 0)
            .select(0, self.index.clone())
            .reshape([maps, inputs, height, width])
    }

    /// For each map, the inputs it reads: the table this layer was built from.
    pub fn table(&self) -> Vec<Vec<usize>> {
        let maps = self.bias.dims()[0];
        let index: Vec<i64> = self
            .index
            .to_data()
            .convert::<i64>()
            .to_vec()
            .unwrap_or_default();
        let count = self.kernels.dims()[0] as i64;
        index
            .chunks(index.len() / maps)
            .map(|row| (0..row.len()).filter(|&i| row[i] != count).collect())
            .collect()
    }

    /// `activation(C3(x))`, `[batch, inputs, h, w]` to `[batch, maps, h - k + 1, w - k + 1]`.
    pub fn forward(&self, x: Tensor<B, 4>, activation: Activation) -> Tensor<B, 4> {
        convolve(x, self.weight(), self.bias.val(), 0, activation)
    }
}

/// The paper's output layer: one Euclidean radial basis function unit per class,
/// `y_i = sum_j (x_j - w_ij)^2`, whose fixed parameters `w_i` are the stylised bitmap of digit
/// `i` ([`RBF_DIGITS`]). The class is the unit with the smallest output: the bitmap nearest to
/// F6's state. Not trained, so not a parameter.
#[derive(Module, Debug)]
pub struct Rbf<B: Backend> {
    /// The bitmaps as +-1, `[10, 84]`.
    pub centres: Tensor<B, 2>,
}

impl<B: Backend> Rbf<B> {
    /// The layer with the digit bitmaps.
    pub fn new(device: &B::Device) -> Self {
        let centres: Vec<f32> = rbf_bitmaps().into_iter().flatten().collect();
        let [width, height] = RBF_BITMAP;
        Self {
            centres: Tensor::<B, 1>::from_floats(centres.as_slice(), device)
                .reshape([10, width * height]),
        }
    }

    /// The squared distances `[batch, 10]` from `x` `[batch, 84]` to each bitmap.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        rbf(x, self.centres.clone())
    }
}

/// The ten bitmaps of [`RBF_DIGITS`] as +-1, digit by digit, row by row.
///
/// # Panics
/// Never for the file shipped in the crate; a unit test parses it.
pub fn rbf_bitmaps() -> Vec<Vec<f32>> {
    let [width, height] = RBF_BITMAP;
    let mut digits: Vec<Vec<f32>> = Vec::new();
    for line in RBF_DIGITS.lines().filter(|line| !line.starts_with("//")) {
        if line.starts_with("digit ") {
            digits.push(Vec::with_capacity(width * height));
            continue;
        }
        let digit = digits.last_mut().expect("rows follow a \"digit N\" line");
        assert_eq!(
            line.len(),
            width,
            "a bitmap row is {width} pixels: {line:?}"
        );
        digit.extend(line.chars().map(|pixel| match pixel {
            '#' => 1.0,
            '.' => -1.0,
            other => panic!("a bitmap pixel is '#' or '.', not {other:?}"),
        }));
    }
    assert_eq!(digits.len(), 10);
    assert!(digits.iter().all(|digit| digit.len() == width * height));
    digits
}
