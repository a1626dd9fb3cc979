//! The narrow view of JSON the client needs.
//!
//! In the wasm build the runtime parses JSON (`JSON.parse` is fast and costs no wasm
//! bytes); on the host the tests plug in `serde_json`. Both implement [`Json`].

/// One member of a parsed JSON object, reduced to what token responses use.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// The member is absent.
    Missing,
    /// `null`.
    Null,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// `true`, `false`, an array or an object.
    Other,
}

impl Field {
    /// The string, if the member is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the member is absent or `null`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Missing | Field::Null)
    }
}

/// A parsed JSON object.
pub trait JsonObject {
    /// The member `name`.
    fn field(&self, name: &str) -> Field;
}

/// Why a text did not yield a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAnObject {
    /// The text is not JSON.
    NotJson,
    /// The text is JSON, but not an object.
    OtherJson,
}

/// A JSON parser.
pub trait Json {
    /// The parsed object type.
    type Object: JsonObject;
    /// Parses `text`, which must be a JSON object.
    fn parse_object(&self, text: &str) -> Result<Self::Object, NotAnObject>;
}

#[cfg(test)]
pub(crate) mod testing {
    //! `serde_json` behind the [`Json`] trait, for host tests.
    use super::*;

    pub struct SerdeJson;

    impl JsonObject for serde_json::Map<String, serde_json::Value> {
        fn field(&self, name: &str) -> Field {
            match self.get(name) {
                None => Field::Missing,
                Some(serde_json::Value::Null) => Field::Null,
                Some(serde_json::Value::String(s)) => Field::Str(s.clone()),
                Some(serde_json::Value::Number(n)) => Field::Num(n.as_f64().unwrap_or(f64::NAN)),
                Some(_) => Field::Other,
            }
        }
    }

    impl Json for SerdeJson {
        type Object = serde_json::Map<String, serde_json::Value>;
        fn parse_object(&self, text: &str) -> Result<Self::Object, NotAnObject> {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(m)) => Ok(m),
                Ok(_) => Err(NotAnObject::OtherJson),
                Err(_) => Err(NotAnObject::NotJson),
            }
        }
    }
}
