//! A dense layer with its bias: its forward kernel, and for training an autodiff operation
//! with our backward step.

use burn::{
    backend::{
        Autodiff,
        autodiff::{
            checkpoint::{base::Checkpointer, strategy::NoCheckpointing},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
    },
    prelude::*,
    tensor::{TensorMetadata, ops::FloatTensor},
};

use super::{Host, Mode, primitive, tensor};
use crate::cpu::{self, DenseShape};

/// The shape of a dense layer on input `[batch, inputs]` with a weight `[inputs, outputs]` (or
/// `[outputs, inputs]` where `outputs_first`) and a bias `[outputs]` of these dimensions, when
/// they agree.
pub(crate) fn dense_shape(
    [batch, inputs]: [usize; 2],
    weight: [usize; 2],
    [outputs]: [usize; 1],
    outputs_first: bool,
) -> Option<DenseShape> {
    let expected = match outputs_first {
        false => [inputs, outputs],
        true => [outputs, inputs],
    };
    (weight == expected && batch > 0 && inputs > 0 && outputs > 0).then_some(DenseShape {
        batch,
        inputs,
        outputs,
        outputs_first,
    })
}

/// `x · weight + bias` on host `H`, the weight of any rank (a convolution's kernels) laid
/// out as `shape` says.
pub(super) fn dense<B: Backend, H: Host, const D: usize>(
    mode: Mode,
    shape: DenseShape,
    x: Tensor<B, 2>,
    weight: Tensor<B, D>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 2> {
    let forward = |x: &FloatTensor<H>, weight: &FloatTensor<H>, bias: &FloatTensor<H>| {
        let [x, weight, bias] = [x, weight, bias].map(H::values);
        let y = cpu::dense_forward(shape, &x, &weight, &bias);
        H::tensor(y, [shape.batch, shape.outputs].into())
    };
    match mode {
        Mode::Inference => {
            let [x, weight, bias]: [FloatTensor<H>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            tensor::<B, 2, _>(forward(&x, &weight, &bias))
        }
        Mode::Training => {
            let [x, weight, bias]: [FloatTensor<Autodiff<H>>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            let parents = [x.node.clone(), weight.node.clone(), bias.node.clone()];
            let prepared = Backward::<H, 3>::prepare::<NoCheckpointing>(DenseBackward, parents)
                .compute_bound()
                .stateful();
            let y = forward(&x.primitive, &weight.primitive, &bias.primitive);
            tensor::<B, 2, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish((shape, x.primitive, weight.primitive), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    }
}

#[derive(Debug)]
struct DenseBackward;

impl<H: Host> Backward<H, 3> for DenseBackward {
    /// The layer's shape, input and weight.
    type State = (DenseShape, FloatTensor<H>, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<H>(&ops.node);
        let (shape, x, weight) = ops.state;
        let computed = cpu::dense_backward(
            shape,
            &H::values(&x),
            &H::values(&weight),
            &H::values(&grad),
            x_node.is_some(),
        );
        if let (Some(node), Some(input)) = (x_node, computed.input) {
            grads.register::<H>(node.id, H::tensor(input, x.shape()));
        }
        if let Some(node) = weight_node {
            grads.register::<H>(node.id, H::tensor(computed.weight, weight.shape()));
        }
        if let Some(node) = bias_node {
            grads.register::<H>(node.id, H::tensor(computed.bias, [shape.outputs].into()));
        }
    }
}

#[cfg(all(test, feature = "flex", feature = "ndarray"))]
mod tests {
    use burn::backend::{Autodiff, Flex, NdArray};
    use burn::tensor::Distribution;

    use super::*;
    use crate::{full_conv2d, linear};

    /// `linear` against Burn's on `B`, output and gradients, at C5's, F6's and the output
    /// layer's sizes (70 rows: partial tasks). `exact` where the host's own product is gemm's,
    /// summed in the same order (flex); within rounding elsewhere (ndarray's matrixmultiply).
    fn linear_trains_like_burns_on<B: burn::tensor::backend::AutodiffBackend>(exact: bool) {
        let device = Default::default();
        for [inputs, outputs] in [[400, 120], [120, 84], [84, 10]] {
            // The kernels take these layers (so they, not Burn's operation, ran).
            assert!(dense_shape([70, inputs], [inputs, outputs], [outputs], false).is_some());
            let random = |dims: Vec<usize>| {
                Tensor::<B, 2>::random(dims.clone(), Distribution::Default, &device)
            };
            let x = random(vec![70, inputs]);
            let weight = random(vec![inputs, outputs]);
            let bias = Tensor::<B, 1>::random([outputs], Distribution::Default, &device);
            let r = random(vec![70, outputs]);
            let run = |fused: bool| {
                let [x, weight] = [&x, &weight].map(|t| t.clone().require_grad());
                let bias = bias.clone().require_grad();
                let y = if fused {
                    linear(x.clone(), weight.clone(), Some(bias.clone()))
                } else {
                    burn::tensor::module::linear(x.clone(), weight.clone(), Some(bias.clone()))
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let grad = |t: &Tensor<B, 2>| t.grad(&grads).expect("tracked").into_data();
                let bias_grad = bias.grad(&grads).expect("tracked").into_data();
                [y.into_data(), grad(&x), grad(&weight), bias_grad]
            };
            let (fused, burns) = (run(true), run(false));
            for (fused, burns) in fused.iter().zip(&burns) {
                if exact {
                    assert_eq!(fused, burns, "{inputs} -> {outputs}");
                } else {
                    fused.assert_approx_eq::<f32>(
                        burns,
                        burn::tensor::Tolerance::rel_abs(1e-5, 1e-5),
                    );
                }
            }
        }
    }

    /// `full_conv2d` against the flattened kernels through Burn's `linear` on `Autodiff<Flex>`,
    /// to the bit: C5 at a batch of one image, 70 and the training batch.
    #[test]
    fn full_conv2d_trains_like_burns_linear() {
        use burn::nn::conv::Conv2dConfig;
        type B = Autodiff<Flex>;
        let device = Default::default();
        let c5 = Conv2dConfig::new([16, 120], [5, 5]).init::<B>(&device);
        for batch in [1, 70, 128] {
            let x = Tensor::<B, 4>::random([batch, 16, 5, 5], Distribution::Default, &device);
            let r = Tensor::<B, 2>::random([batch, 120], Distribution::Default, &device);
            let run = |fused: bool| {
                let x = x.clone().require_grad();
                let y = if fused {
                    full_conv2d(&c5, x.clone())
                } else {
                    let kernels = c5.weight.val().reshape([120, 400]);
                    let bias = c5.bias.as_ref().map(|b| b.val());
                    burn::tensor::module::linear(
                        x.clone().reshape([batch, 400]),
                        kernels.transpose(),
                        bias,
                    )
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let bias = c5.bias.as_ref().expect("a bias").val();
                [
                    y.into_data(),
                    x.grad(&grads).expect("tracked").into_data(),
                    c5.weight.val().grad(&grads).expect("tracked").into_data(),
                    bias.grad(&grads).expect("tracked").into_data(),
                ]
            };
            assert_eq!(run(true), run(false), "batch {batch}");
        }
    }

    #[test]
    #[should_panic(expected = "full_conv2d: an unpadded")]
    fn full_conv2d_refuses_a_padded_convolution() {
        use burn::nn::{PaddingConfig2d::Explicit, conv::Conv2dConfig};
        let device = Default::default();
        let padded = Conv2dConfig::new([16, 120], [5, 5])
            .with_padding(Explicit(1, 1, 1, 1))
            .init::<Flex>(&device);
        full_conv2d(&padded, Tensor::zeros([1, 16, 5, 5], &device));
    }

    #[test]
    fn linear_trains_like_burns_on_both_hosts() {
        linear_trains_like_burns_on::<Autodiff<Flex>>(true);
        linear_trains_like_burns_on::<Autodiff<NdArray>>(false);
    }
}
