use burn::{
    nn::loss::CrossEntropyLossConfig,
    optim::GradientsParams,
    prelude::*,
    tensor::{
        activation::softmax,
        backend::AutodiffBackend,
        module::{avg_pool2d, conv2d},
        ops::ConvOptions,
    },
};
use burn_train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use lenet_kernels::{SCALED_TANH_AMPLITUDE, SCALED_TANH_SLOPE};

use crate::{C3, C5, LeNet5, LeNetError, MnistBatch, Output, Subsampling};

impl<B: Backend> LeNet5<B> {
    /// Logits and loss of a labelled batch, in the form Burn's metrics read: cross-entropy,
    /// or for the paper's network its MAP criterion ([`map_loss`]) on the RBF distances.
    pub fn forward_classification(
        &self,
        images: Tensor<B, 4>,
        targets: Tensor<B, 1, Int>,
    ) -> ClassificationOutput<B> {
        let output = self.forward(images);
        let loss = match self.output {
            Output::Rbf(_) => map_loss(-output.clone(), targets.clone(), MAP_J),
            Output::Dense(_) => CrossEntropyLossConfig::new()
                .init(&output.device())
                .forward(output.clone(), targets.clone()),
        };
        ClassificationOutput::new(loss, output, targets)
    }
}

impl<B: AutodiffBackend> TrainStep for LeNet5<B> {
    type Input = MnistBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: MnistBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let item = self.forward_classification(batch.images, batch.targets);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: Backend> InferenceStep for LeNet5<B> {
    type Input = MnistBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: MnistBatch<B>) -> ClassificationOutput<B> {
        self.forward_classification(batch.images, batch.targets)
    }
}

/// The constant `j` of the paper's MAP criterion (eq. 9): the penalty of a "rubbish" class
/// that competes with the ten digits, so that pushing every RBF output up (which would make
/// them all distant from F6 and the criterion useless) does not pay. The paper does not give
/// its value; with all outputs above `j`, the criterion is the distance to the right bitmap.
pub const MAP_J: f32 = 10.0;

/// The paper's MAP criterion (eq. 9) for RBF `distances` `[batch, 10]`, averaged over the
/// batch: `mean_p [ y_D(p) + log(exp(-j) + sum_i exp(-y_i(p))) ]`, `D(p)` the right class.
/// It pulls F6 to the right digit's bitmap and pushes it from the others, which the first
/// term alone (the maximum-likelihood criterion, eq. 8) would not do.
pub fn map_loss<B: Backend>(
    distances: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    j: f32,
) -> Tensor<B, 1> {
    let [batch, _] = distances.dims();
    let device = distances.device();
    let right = distances
        .clone()
        .gather(1, targets.unsqueeze_dim(1))
        .squeeze_dim::<1>(1);
    let rubbish = Tensor::<B, 2>::full([batch, 1], -j, &device);
    let exponents = Tensor::cat(vec![-distances, rubbish], 1);
    // log-sum-exp shifted by each row's largest exponent, so that nothing overflows.
    let shift = exponents.clone().max_dim(1).detach();
    let sum = (exponents - shift.clone()).exp().sum_dim(1);
    (right + (sum.log() + shift).squeeze_dim(1)).mean()
}

impl<B: AutodiffBackend> LeNet5<B> {
    /// The paper's estimate of the diagonal of the loss's Hessian (Appendix C), averaged over
    /// `images` `[n, 1, 32, 32]`: for every parameter, the Gauss-Newton
    /// second derivative of the MAP criterion, back-propagated through the network with
    /// squared weights, squared inputs and squared activation derivatives (the terms in the
    /// squashing function's second derivative dropped). Returned as gradients are, by
    /// parameter, for the SDLM optimizer's step sizes `eta / (mu + h)`.
    ///
    /// It is computed as the gradient of a surrogate: a network linear in the second
    /// derivatives, in which each layer's parameters meet the squared inputs of the real
    /// forward pass and pass the second derivatives down through the squared weights. Its
    /// value means nothing; its gradient is the estimate.
    ///
    /// # Errors
    /// [`LeNetError::Unbuildable`] for a network other than the paper's (the estimate needs
    /// its RBF outputs and squashing function).
    pub fn curvature(&self, images: Tensor<B, 4>) -> Result<GradientsParams, LeNetError> {
        let (Some(s2), C3::Table(c3), Some(s4), C5::Conv(c5), Output::Rbf(rbf)) =
            (&self.s2, &self.c3, &self.s4, &self.c5, &self.output)
        else {
            return Err(LeNetError::Unbuildable(format!(
                "the curvature estimate (for the SDLM optimizer) is defined for the lecun1998 network, not {}",
                self.variant
            )));
        };
        let count = images.dims()[0] as f32;
        let layers = self.forward_layers(images.clone());
        let square = |t: Tensor<B, 4>| t.detach().powi_scalar(2);
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let sum_pool = |t: Tensor<B, 4>| avg_pool2d(t, [2, 2], [2, 2], [0, 0], true, false) * 4.0;
        let per_map = |t: Tensor<B, 1>| t.unsqueeze_dims::<4>(&[0, 2, 3]);

        // C1: its inputs are the images, which need no second derivative.
        let c1_bias = self.c1.bias.as_ref().map(|bias| bias.val());
        let z = conv2d(
            square(images),
            self.c1.weight.val(),
            c1_bias,
            options.clone(),
        );
        let u = z * slope(layers.c1.clone());
        // S2: a = c * (window sum) + b.
        let subsampling = |layer: &Subsampling<B>, input: Tensor<B, 4>, u: Tensor<B, 4>| {
            let sums = sum_pool(input.detach());
            let c = layer.coefficient.val();
            sums.powi_scalar(2) * per_map(c.clone())
                + per_map(layer.bias.val())
                + sum_pool(u) * per_map(c.detach().powi_scalar(2))
        };
        let z = subsampling(s2, layers.c1.clone(), u);
        let u = z * slope(layers.s2.clone());
        // C3 and C5: convolutions, C5 as the matrix product it is on 5x5 maps.
        let z = conv2d(
            square(layers.s2.clone()),
            c3.weight(),
            Some(c3.bias.val()),
            options.clone(),
        ) + conv2d(
            u,
            c3.weight().detach().powi_scalar(2),
            None,
            options.clone(),
        );
        let u = z * slope(layers.c3.clone());
        let z = subsampling(s4, layers.c3.clone(), u);
        let u = z * slope(layers.s4.clone());
        let [maps, channels, height, width] = c5.weight.dims();
        let c5_weight = c5.weight.val().reshape([maps, channels * height * width]);
        let c5_bias = c5.bias.as_ref().map(|bias| bias.val().unsqueeze());
        let mut z = square(layers.s4.clone())
            .flatten::<2>(1, 3)
            .matmul(c5_weight.clone().transpose())
            + u.flatten::<2>(1, 3)
                .matmul(c5_weight.detach().powi_scalar(2).transpose());
        if let Some(bias) = c5_bias {
            z = z + bias;
        }
        let u = z * slope(layers.c5.clone());
        // F6: dense.
        let f6_weight = self.f6.weight.val();
        let mut z = layers
            .c5
            .clone()
            .detach()
            .powi_scalar(2)
            .matmul(f6_weight.clone())
            + u.matmul(f6_weight.detach().powi_scalar(2));
        if let Some(bias) = &self.f6.bias {
            z = z + bias.val().unsqueeze();
        }
        // The output: the criterion's second derivative in F6's units through the RBF
        // distances y_i = sum_j (x_j - w_ij)^2. With p the 11-way softmax of eq. 9, dE/dy_i is
        // [i = D] - p_i and d2E/dy_i2 is p_i (1 - p_i), so d2E/dx_j2 is
        // sum_i 4 (x_j - w_ij)^2 p_i (1 - p_i) (the Gauss-Newton term) plus
        // sum_i 2 dE/dy_i = 2 (1 - sum_i p_i) (the distances' own curvature, never negative).
        // Without the second term, the estimate is about 0 while every distance exceeds j.
        let f6 = layers.f6.clone().detach();
        let distances = -layers.logits.detach();
        let [batch, classes] = distances.dims();
        let rubbish = Tensor::<B, 2>::full([batch, 1], -MAP_J, &distances.device());
        let p = softmax(Tensor::cat(vec![-distances, rubbish], 1), 1).narrow(1, 0, classes);
        let second = p.clone() * (-p.clone() + 1.0);
        let difference = f6.unsqueeze_dim::<3>(1) - rbf.centres.clone().unsqueeze_dim(0);
        let gauss_newton = (difference.powi_scalar(2) * 4.0 * second.unsqueeze_dim(2))
            .sum_dim(1)
            .squeeze_dim::<2>(1);
        let h_f6 = gauss_newton + (-p.sum_dim(1) + 1.0) * 2.0;
        let h_a6 = h_f6 * slope(layers.f6);
        let surrogate = (z * h_a6).sum() / count;
        Ok(GradientsParams::from_grads(surrogate.backward(), self))
    }
}

/// The squashing function's derivative squared, `(S / A (A^2 - y^2))^2`, from its output `y`.
fn slope<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let (a, s) = (SCALED_TANH_AMPLITUDE, SCALED_TANH_SLOPE);
    ((y.detach().powi_scalar(2) - a * a) * (-s / a)).powi_scalar(2)
}
