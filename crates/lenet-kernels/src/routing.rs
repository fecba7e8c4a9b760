//! Which operations run LeNet-5's layers on a backend: [`route`] says it in words, [`is_fused`]
//! yes or no, and [`covers`] whether the kernels take a given convolution.

use std::fmt;

use burn::{
    nn::{PaddingConfig2d, conv::Conv2d},
    prelude::*,
};

#[cfg(any(feature = "flex", feature = "ndarray"))]
use crate::host;

/// The operations that run a backend's layers, as [`route`] tells; its `Display` says it in
/// words, for a program to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The fused kernels on `Flex` and `Autodiff<Flex>`, with the `flex` feature: "fused
    /// kernels (flex)".
    FusedFlex,
    /// The fused kernels on `NdArray` and `Autodiff<NdArray>`, with the `ndarray` feature:
    /// "fused kernels (ndarray)".
    FusedNdArray,
    /// Burn's own operations, on every other backend: "Burn's operations".
    Burn,
}

impl Route {
    /// Whether the fused kernels run: any route but [`Route::Burn`].
    pub fn is_fused(self) -> bool {
        self != Route::Burn
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Route::FusedFlex => "fused kernels (flex)",
            Route::FusedNdArray => "fused kernels (ndarray)",
            Route::Burn => "Burn's operations",
        })
    }
}

/// The route that the layers take on backend `B` (for `f32` tensors, Burn's default): the
/// fused kernels on `Flex` and `Autodiff<Flex>` with the `flex` feature and on `NdArray` and
/// `Autodiff<NdArray>` with the `ndarray` feature, Burn's operations on every other type. A
/// convolution the kernels do not cover ([`covers`]) runs Burn's operations on any route.
///
/// # Example
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use lenet_kernels::{Route, route};
///
/// let training = route::<Autodiff<NdArray>>();
/// println!("training runs {training}");
/// if cfg!(feature = "ndarray") {
///     assert_eq!(training, Route::FusedNdArray);
///     assert_eq!(training.to_string(), "fused kernels (ndarray)");
/// } else {
///     assert_eq!(training.to_string(), "Burn's operations");
/// }
/// // f64 tensors are not the kernels' to take.
/// assert_eq!(route::<NdArray<f64>>(), Route::Burn);
/// ```
pub fn route<B: Backend>() -> Route {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(fused) = host::Fused::of::<B>(&[burn::tensor::DType::F32]) {
        return fused.route();
    }
    Route::Burn
}

/// Whether the fused kernels run on backend `B` (for `f32` tensors): true for `Flex` and
/// `Autodiff<Flex>` with the `flex` feature, and for `NdArray` and `Autodiff<NdArray>` with
/// the `ndarray` feature. Use it to learn why training is slow on another type; [`route`]
/// says the same in words.
pub fn is_fused<B: Backend>() -> bool {
    route::<B>().is_fused()
}

/// Whether the fused kernels would take `conv` on an input of `dims` (on a backend where
/// [`is_fused`] holds). False for a non-square kernel, a stride or dilation other than 1,
/// groups, unequal padding or a missing bias.
pub fn covers<B: Backend>(conv: &Conv2d<B>, dims: [usize; 4]) -> bool {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    return conv_padding(conv).is_some_and(|padding| {
        host::conv_shape(conv.weight.dims(), [conv.weight.dims()[0]], padding, dims).is_some()
    });
    #[cfg(not(any(feature = "flex", feature = "ndarray")))]
    {
        let _ = (conv, dims);
        false
    }
}

/// The padding of `conv` when it is the same on every side and `conv` is unit-stride,
/// undilated and ungrouped, with a bias: a convolution that [`crate::convolve`] computes.
pub(crate) fn conv_padding<B: Backend>(conv: &Conv2d<B>) -> Option<usize> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => 0,
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && left == bottom && bottom == right =>
        {
            top
        }
        _ => return None,
    };
    let plain = conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1;
    (plain && conv.bias.is_some()).then_some(padding)
}
