//! One error type with stable codes.
//!
//! Every failure of the client is an [`Error`]. Its [`Error::code`] is part of the
//! public API (JavaScript callers branch on `err.code`): either the authorization
//! server's RFC 6749 §5.2 `error` value, or one of the codes of this crate.
//!
//! # Security
//! No variant holds the client secret, an `Authorization` header or a request body.
//! Text that comes from the server is redacted (see [`crate::config::ClientSecret::redact`])
//! before it is stored here, because some servers echo request parameters back.

use crate::encoding::push_decimal;
#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

/// Why a token could not be obtained.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The authorization server answered with an RFC 6749 §5.2 error object
    /// (`{"error": "invalid_client", ...}`), whatever the HTTP status.
    OAuth {
        /// The server's `error` value, e.g. `invalid_client`.
        error: String,
        /// The server's `error_description`, redacted.
        description: Option<String>,
        /// The server's `error_uri`, redacted.
        uri: Option<String>,
        /// The HTTP status of the answer.
        status: u16,
    },
    /// A non-2xx answer without an RFC 6749 error object.
    Http {
        /// The HTTP status of the answer.
        status: u16,
    },
    /// A 2xx answer that is not a usable token response: not JSON, not an object,
    /// without `access_token`, with fields of the wrong type, or larger than the cap.
    InvalidResponse {
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The request did not produce a response (connection refused, reset, DNS, TLS...).
    Network {
        /// What the runtime said, redacted.
        message: String,
    },
    /// An attempt took longer than the configured `timeoutMs`.
    Timeout {
        /// The per-attempt limit that was exceeded, in milliseconds.
        after_ms: u32,
    },
    /// The configuration (or a credentials file, or the environment) is not usable.
    InvalidConfig {
        /// What is wrong; never the secret.
        reason: String,
    },
    /// An Auth0 quota bucket reads `remaining: 0`: no request is made until it resets.
    QuotaExceeded {
        /// Seconds until the bucket resets.
        retry_after_seconds: u64,
    },
    /// The caller's `AbortSignal` fired; the shared exchange goes on for the others.
    Aborted,
    /// A static token (`DATACOSMOS_USER_TOKEN`, `DATACOSMOS_ACCESS_TOKEN`) has expired.
    TokenExpired,
}

impl Error {
    /// The stable, machine-readable code: the server's `error` for [`Error::OAuth`],
    /// else `http_error`, `invalid_response`, `network_error`, `timeout` or
    /// `invalid_config`.
    pub fn code(&self) -> &str {
        match self {
            Error::OAuth { error, .. } => error,
            Error::Http { .. } => "http_error",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::Network { .. } => "network_error",
            Error::Timeout { .. } => "timeout",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Aborted => "aborted",
            Error::TokenExpired => "token_expired",
        }
    }

    /// Seconds until a request may be made again, for [`Error::QuotaExceeded`].
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Error::QuotaExceeded {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The HTTP status where a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth { status, .. }
            | Error::Http { status }
            | Error::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `error_description`, redacted.
    pub fn description(&self) -> Option<&str> {
        match self {
            Error::OAuth { description, .. } => description.as_deref(),
            _ => None,
        }
    }

    /// The server's `error_uri`, redacted.
    pub fn uri(&self) -> Option<&str> {
        match self {
            Error::OAuth { uri, .. } => uri.as_deref(),
            _ => None,
        }
    }

    /// Whether the request may be sent again (RFC 6749 leaves this to the client):
    /// network failures, timeouts, 408, 429 and 5xx. Other 4xx answers and bad 2xx
    /// bodies are final.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::OAuth { status, .. } | Error::Http { status } => {
                matches!(*status, 408 | 429 | 500..=599)
            }
            Error::InvalidResponse { .. }
            | Error::InvalidConfig { .. }
            | Error::QuotaExceeded { .. }
            | Error::Aborted
            | Error::TokenExpired => false,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }
}

impl Error {
    /// The human-readable text (what `Display` prints), built without `core::fmt`:
    /// integer formatting and padding would cost the wasm a few kilobytes.
    pub fn message(&self) -> String {
        let mut m = String::with_capacity(64);
        match self {
            Error::OAuth {
                error,
                description,
                status,
                ..
            } => {
                m.push_str(error);
                if let Some(d) = description {
                    m.push_str(": ");
                    m.push_str(d);
                }
                m.push_str(" (HTTP ");
                push_decimal(&mut m, u64::from(*status));
                m.push(')');
            }
            Error::Http { status } => {
                m.push_str("token endpoint answered HTTP ");
                push_decimal(&mut m, u64::from(*status));
                m.push_str(" without an OAuth error");
            }
            Error::InvalidResponse { status, reason } => {
                m.push_str("invalid token response (HTTP ");
                push_decimal(&mut m, u64::from(*status));
                m.push_str("): ");
                m.push_str(reason);
            }
            Error::Network { message } => {
                m.push_str("network error: ");
                m.push_str(message);
            }
            Error::Timeout { after_ms } => {
                m.push_str("token request timed out after ");
                push_decimal(&mut m, u64::from(*after_ms));
                m.push_str(" ms");
            }
            Error::InvalidConfig { reason } => {
                m.push_str("invalid config: ");
                m.push_str(reason);
            }
            Error::QuotaExceeded {
                retry_after_seconds,
            } => {
                m.push_str("the token endpoint's quota is used up; retry in ");
                push_decimal(&mut m, *retry_after_seconds);
                m.push_str(" s");
            }
            Error::Aborted => m.push_str("the caller aborted the wait for a token"),
            Error::TokenExpired => m.push_str("the static access token has expired"),
        }
        m
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Error(")?;
        f.write_str(self.code())?;
        f.write_str(": ")?;
        f.write_str(&self.message())?;
        f.write_str(")")
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let cases = [
            (Error::Http { status: 502 }, "http_error", Some(502)),
            (
                Error::InvalidResponse {
                    status: 200,
                    reason: "x",
                },
                "invalid_response",
                Some(200),
            ),
            (
                Error::Network {
                    message: "refused".into(),
                },
                "network_error",
                None,
            ),
            (Error::Timeout { after_ms: 5 }, "timeout", None),
            (Error::config("bad"), "invalid_config", None),
            (
                Error::OAuth {
                    error: "invalid_client".into(),
                    description: None,
                    uri: None,
                    status: 401,
                },
                "invalid_client",
                Some(401),
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.status(), status);
        }
    }

    #[test]
    fn transient_errors() {
        assert!(Error::Timeout { after_ms: 1 }.is_transient());
        assert!(Error::Network {
            message: String::new()
        }
        .is_transient());
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(Error::Http { status: s }.is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!Error::Http { status: s }.is_transient(), "{s}");
        }
        assert!(!Error::InvalidResponse {
            status: 200,
            reason: "x"
        }
        .is_transient());
        assert!(!Error::config("x").is_transient());
    }

    #[test]
    fn display_and_debug_name_the_code() {
        let e = Error::OAuth {
            error: "invalid_client".into(),
            description: Some("Unauthorized".into()),
            uri: None,
            status: 401,
        };
        assert_eq!(e.to_string(), "invalid_client: Unauthorized (HTTP 401)");
        assert!(format!("{e:?}").starts_with("Error(invalid_client: "));
    }
}
