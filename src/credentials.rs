//! Where a configuration can come from besides code: the DataCosmos credentials file
//! (`data_cosmos_api_credentials.json`) and environment variables. Pure mapping into a
//! [`ConfigInput`]; reading the file or the environment is the caller's job.

use crate::config::{Audience, ClientSecret, ConfigInput};
use crate::json::{Field, Object};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::Error;

/// Reads the credentials file format:
/// `{"client_id", "client_secret", "audience", "grant_type": "client_credentials"}`.
///
/// # Errors
/// [`Error::InvalidConfig`] for a `grant_type` other than `client_credentials`, or
/// members that are not strings. The message names the member, never its value.
pub fn from_credentials(obj: &Object) -> Result<ConfigInput, Error> {
    let string = |name: &str| -> Result<Option<String>, Error> {
        match obj.field(name) {
            Field::Missing | Field::Null => Ok(None),
            Field::Str(s) if s.is_empty() => Ok(None),
            Field::Str(s) => Ok(Some(s)),
            _ => Err(Error::config(
                "credentials: `".to_owned() + name + "` must be a string",
            )),
        }
    };
    match string("grant_type")?.as_deref() {
        None | Some("client_credentials") => {}
        Some(_) => {
            return Err(Error::config(
                "credentials: grant_type must be \"client_credentials\"",
            ))
        }
    }
    Ok(ConfigInput {
        client_id: string("client_id")?,
        client_secret: string("client_secret")?.map(ClientSecret::new),
        audience: string("audience")?.map_or(Audience::Default, Audience::Value),
        ..ConfigInput::default()
    })
}

/// The variables [`from_env`] reads, each followed by its fallbacks, in order: the
/// official DataCosmos Python SDK's names (`AUTHENTICATION__*`), then the names its
/// README gives (`OC_AUTH_*`); the static token (the SDK's `token` mode, then the
/// DataCosmos docs' shell variable).
pub const ENV_VARS: [&[&str]; 6] = [
    &[
        "DATACOSMOS_CLIENT_ID",
        "AUTHENTICATION__CLIENT_ID",
        "OC_AUTH_CLIENT_ID",
    ],
    &[
        "DATACOSMOS_CLIENT_SECRET",
        "AUTHENTICATION__CLIENT_SECRET",
        "OC_AUTH_CLIENT_SECRET",
    ],
    &["DATACOSMOS_AUDIENCE", "AUTHENTICATION__AUDIENCE"],
    &["DATACOSMOS_TOKEN_URL", "AUTHENTICATION__TOKEN_URL"],
    &["DATACOSMOS_SCOPE"],
    &["DATACOSMOS_USER_TOKEN", "DATACOSMOS_ACCESS_TOKEN"],
];

/// Reads the [`ENV_VARS`] through `get`: each option from the first of its names that
/// is set; empty values count as unset. Whether the static token is used is decided
/// by [`crate::config::Config::new`] (client credentials win).
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> ConfigInput {
    from_env_dyn(&get)
}

/// [`from_env`] compiled once, whatever the caller's closure type.
fn from_env_dyn(get: &dyn Fn(&str) -> Option<String>) -> ConfigInput {
    let read = |i: usize| {
        ENV_VARS[i]
            .iter()
            .find_map(|n| get(n).filter(|v| !v.is_empty()))
    };
    ConfigInput {
        client_id: read(0),
        client_secret: read(1).map(ClientSecret::new),
        audience: read(2).map_or(Audience::Default, Audience::Value),
        token_url: read(3),
        scope: read(4),
        access_token: read(5),
        ..ConfigInput::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_object;
    use crate::Config;

    /// An environment of these variables.
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn creds(text: &str) -> Result<ConfigInput, Error> {
        from_credentials(&parse_object(text).unwrap())
    }

    #[test]
    fn datacosmos_credentials_file() {
        let c = creds(
            r#"{"client_id":"abc","client_secret":"shh","audience":"https://beeapp.open-cosmos.com","grant_type":"client_credentials"}"#,
        )
        .unwrap();
        let c = Config::new(c).unwrap();
        assert_eq!(c.client_id(), "abc");
        assert_eq!(c.client_secret().expose(), "shh");
        assert_eq!(c.audience(), Some("https://beeapp.open-cosmos.com"));
        // grant_type and audience may be left out.
        let c = Config::new(creds(r#"{"client_id":"a","client_secret":"b"}"#).unwrap()).unwrap();
        assert_eq!(c.audience(), Some(crate::config::DEFAULT_AUDIENCE));
    }

    #[test]
    fn wrong_grant_type_or_types() {
        let e = creds(r#"{"client_id":"a","client_secret":"hunter2","grant_type":"password"}"#)
            .unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(!e.to_string().contains("hunter2"));
        let e = creds(r#"{"client_id":"a","client_secret":12345}"#).unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(!e.to_string().contains("12345"));
    }

    #[test]
    fn only_own_members() {
        let c = creds(r#"{"__proto__":{"client_id":"inherited"},"client_secret":"b"}"#).unwrap();
        assert_eq!(c.client_id, None);
        assert!(c.client_secret.is_some());
    }

    #[test]
    fn environment_with_sdk_fallbacks() {
        let c = from_env(env(&[
            ("DATACOSMOS_CLIENT_ID", "new"),
            ("AUTHENTICATION__CLIENT_ID", "old"),
            ("DATACOSMOS_CLIENT_SECRET", ""),
            ("AUTHENTICATION__CLIENT_SECRET", "sdk-secret"),
            ("AUTHENTICATION__TOKEN_URL", "http://127.0.0.1:1/t"),
            ("DATACOSMOS_SCOPE", "s"),
        ]));
        assert_eq!(c.client_id.as_deref(), Some("new"));
        assert_eq!(c.client_secret.as_ref().unwrap().expose(), "sdk-secret");
        assert_eq!(c.token_url.as_deref(), Some("http://127.0.0.1:1/t"));
        assert_eq!(c.audience, Audience::Default);
        assert_eq!(c.scope.as_deref(), Some("s"));
        let c = from_env(env(&[
            ("AUTHENTICATION__AUDIENCE", "aud"),
            ("DATACOSMOS_TOKEN_URL", ""),
        ]));
        assert_eq!(c.audience, Audience::Value("aud".into()));
        assert_eq!(c.token_url, None);
        assert_eq!(c.client_id, None);
    }

    #[test]
    fn oc_auth_names_come_last_and_the_static_token_after_its_fallback() {
        let c = from_env(env(&[
            ("OC_AUTH_CLIENT_ID", "oc-id"),
            ("OC_AUTH_CLIENT_SECRET", "oc-secret"),
            ("DATACOSMOS_ACCESS_TOKEN", "docs-token"),
        ]));
        assert_eq!(c.client_id.as_deref(), Some("oc-id"));
        assert_eq!(c.client_secret.as_ref().unwrap().expose(), "oc-secret");
        assert_eq!(c.access_token.as_deref(), Some("docs-token"));
        let c = from_env(env(&[
            ("AUTHENTICATION__CLIENT_ID", "sdk-id"),
            ("OC_AUTH_CLIENT_ID", "oc-id"),
            ("AUTHENTICATION__CLIENT_SECRET", "sdk-secret"),
            ("OC_AUTH_CLIENT_SECRET", "oc-secret"),
            ("DATACOSMOS_USER_TOKEN", "user-token"),
            ("DATACOSMOS_ACCESS_TOKEN", "docs-token"),
        ]));
        assert_eq!(c.client_id.as_deref(), Some("sdk-id"));
        assert_eq!(c.client_secret.as_ref().unwrap().expose(), "sdk-secret");
        assert_eq!(c.access_token.as_deref(), Some("user-token"));
        let c = from_env(env(&[
            ("DATACOSMOS_USER_TOKEN", ""),
            ("DATACOSMOS_ACCESS_TOKEN", "docs-token"),
        ]));
        assert_eq!(c.access_token.as_deref(), Some("docs-token"));
    }

    #[test]
    fn client_credentials_win_over_a_static_token() {
        let token = |id: Option<&str>, secret: Option<&str>| {
            Config::new(ConfigInput {
                client_id: id.map(Into::into),
                client_secret: secret.map(ClientSecret::new),
                access_token: Some("tok".into()),
                ..ConfigInput::default()
            })
            .map(|c| c.access_token().map(str::to_owned))
            .map_err(|e| e.to_string())
        };
        assert_eq!(token(None, None), Ok(Some("tok".into())));
        assert_eq!(token(Some("id"), Some("s")), Ok(None));
        assert_eq!(
            token(Some("id"), None),
            Err("invalid config: clientSecret is required".into())
        );
        assert_eq!(
            token(None, Some("s")),
            Err("invalid config: clientId is required".into())
        );
        let e = Config::new(ConfigInput {
            access_token: Some("line\nbreak\u{e9}".into()),
            ..ConfigInput::default()
        })
        .unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(!e.to_string().contains("break"));
    }
}
