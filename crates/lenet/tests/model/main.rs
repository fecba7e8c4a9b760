//! The network on ndarray, the paper's network, wgpu against ndarray and the fused kernels on
//! ndarray against flex, in one test binary: Burn's generic code for these backends is compiled
//! once for all of them rather than once per file. `kernels.rs` stays a binary of its own (see
//! `kernels_ndarray.rs`).

#[path = "../common/mod.rs"]
mod common;
#[cfg(all(feature = "flex", feature = "ndarray"))]
mod kernels_ndarray;
mod network;
mod panic_hook;
#[cfg(feature = "train")]
mod paper;
mod wgpu;
