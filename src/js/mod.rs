//! The only code that touches `wasm_bindgen`, `web_sys` and `js_sys`.
//!
//! - `abi`: the exports of the npm package's `.wasm`, called by its JavaScript driver
//!   (`pkg/core.js`): strings in, one JSON string out per step;
//! - [`TokenClient`]: the driver for Rust code on wasm32, on `web-sys`'s Fetch API.
//!
//! Both execute the actions of [`crate::engine::Engine`] and decide nothing.

mod abi;
#[cfg(feature = "driver")]
mod client;
#[cfg(all(test, feature = "driver"))]
mod tests;

#[cfg(feature = "driver")]
pub use client::{TokenClient, TokenInfo};
