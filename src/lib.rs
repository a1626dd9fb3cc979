//! # datacosmos-auth
//!
//! OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for the DataCosmos APIs of
//! Open Cosmos, from one small WebAssembly core that runs in every JavaScript runtime
//! (Cloudflare Workers, Deno, Bun, Node.js, browsers) and in Rust code compiled to
//! `wasm32-unknown-unknown`.
//!
//! The crate is a sans-io core (the shape of quinn-proto and rustls) with thin drivers.
//! Each behaviour has one home, named by its noun:
//!
//! - [`engine`]: the token lifecycle as a pure state machine, events in, actions out:
//!   freshness, serve-stale, single flight, the store plan and lease, retries, quota
//!   pacing, negative cache, deadlines; [`engine::quota`] reads Auth0's quota headers,
//!   [`engine::entry`] the store's values;
//! - [`config`]: validated configuration with the DataCosmos defaults;
//! - [`options`]: JavaScript options (one JSON document of own members) into a config;
//! - [`credentials`]: the DataCosmos credentials file and environment variables;
//! - [`request`]: the token request, byte for byte;
//! - [`response`]: the token response or a coded [`Error`] (RFC 6749 §5.1, §5.2);
//! - [`json`]: the strict JSON reader the response, store and credentials go through;
//! - [`redact`]: the one redaction function, with laws;
//! - [`retry`]: which failures are retried and when (RFC 9110 `Retry-After`);
//! - [`wire`]: the engine's steps as JSON for the JavaScript driver;
//! - `js` (wasm32 only): the only code that touches `wasm_bindgen`, `web_sys` and
//!   `js_sys`: the exports the npm package's driver (`pkg/core.js`) calls, and
//!   `TokenClient`, the driver for Rust callers on wasm32.
//!
//! Everything but `js` builds and is tested on the host, the engine by a deterministic
//! simulation (`tests/sim`).
//!
//! ## Rust on wasm32 (for example a Worker written in Rust)
//!
//! `TokenClient` exists only on `wasm32-unknown-unknown`, so this example is compiled
//! there (`no_run`: it needs a token endpoint) by
//! `cargo test --doc --target wasm32-unknown-unknown` in `make test-wasm`; on other
//! targets it is `ignore`d. `examples/rust_worker.rs` is the same use, compiled by the
//! wasm32 clippy run of `make lint`.
//!
#![cfg_attr(target_arch = "wasm32", doc = "```no_run")]
#![cfg_attr(not(target_arch = "wasm32"), doc = "```ignore")]
//! # async fn example() -> Result<(), datacosmos_auth::Error> {
//! use datacosmos_auth::{Config, TokenClient};
//!
//! let client = TokenClient::new(Config::datacosmos("my-client-id", "my-client-secret")?);
//! let header = client.authorization_header().await?; // "Bearer eyJ..."
//! # let _ = header;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]
// The npm package's .wasm is built without std (`--no-default-features --features
// npm`): std's panic and formatting machinery is most of what an edge isolate would
// otherwise load for nothing. Everything else builds with std.
#![cfg_attr(all(target_arch = "wasm32", feature = "npm"), no_std)]

extern crate alloc;

/// What std's prelude gives and `no_std` does not.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// Without std a panic stops the instance at once (with std, `panic = "abort"` does the
/// same after formatting a message nobody reads). The library has no panic path it
/// means to take: clippy denies unwrap, expect, indexing and panics in it.
#[cfg(all(target_arch = "wasm32", feature = "npm"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The npm build's allocator: talc on wasm32 (about 1 KB of code instead of
/// dlmalloc's 8 KB), growing memory with [`alloc_oom::Grow`].
#[cfg(all(target_arch = "wasm32", feature = "npm"))]
#[global_allocator]
static ALLOCATOR: talc::Talck<talc::locking::AssumeUnlockable, alloc_oom::Grow> =
    talc::Talc::new(alloc_oom::Grow::EMPTY).lock();

#[cfg(all(target_arch = "wasm32", feature = "npm"))]
mod alloc_oom;

pub mod config;
pub mod credentials;
mod encoding;
pub mod engine;
mod error;
pub mod json;
mod num;
pub mod options;
pub mod redact;
pub mod request;
pub mod response;
pub mod retry;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod js;

pub use config::{ClientSecret, Config, ConfigInput};
pub use error::Error;
pub use response::Token;

#[cfg(all(target_arch = "wasm32", feature = "driver"))]
pub use js::{TokenClient, TokenInfo};
