//! From a file to MNIST's form: safe decoding (this crate's [`read_image`] and
//! [`decode_image`]), then the `preprocess` crate's recipe ([`to_mnist`]), re-exported here so
//! that `infer` is the one entry point an application needs.

pub use crate::decode::{MAX_PIXELS, MAX_SIDE, decode_image, read_image};
pub use ::preprocess::{
    BOX_SIDE, MIN_STROKE, PHOTO_PIXELS, WORKING_SIDE, save_png, to_mnist, to_mnist_showing_removed,
};
