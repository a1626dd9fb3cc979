//! The Rust API on wasm32, as a Worker written in Rust would use it: one client per
//! isolate, an `Authorization` header per outgoing request. CI compiles this for
//! `wasm32-unknown-unknown` (`cargo clippy --all-targets --target wasm32-unknown-unknown`).
//!
//! On other targets it only prints where it runs.

#[cfg(target_arch = "wasm32")]
mod worker {
    use datacosmos_auth::credentials;
    use datacosmos_auth::{Config, Error, TokenClient};

    /// The header for a call to a DataCosmos API, with the secret from a Worker's env.
    pub async fn authorization(env: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
        let config = Config::new(credentials::from_env(env))?;
        let client = TokenClient::new(config);
        let first = client.authorization_header().await?;
        // A second call is served from the cache.
        let again = client.authorization_header().await?;
        debug_assert_eq!(first, again);
        Ok(first)
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        // Not awaited here: a Worker's fetch handler would await it.
        let _pending = worker::authorization(|_| None);
    }
    #[cfg(not(target_arch = "wasm32"))]
    println!(
        "datacosmos-auth's TokenClient runs on wasm32-unknown-unknown; the pure core builds here."
    );
}
