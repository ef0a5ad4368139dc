//! Who a request comes as, checked as GitHub checks it: an App JWT must be RS256, signed by
//! the App's key, issued by its id, `iat` not ahead of now by more than a minute, `exp` in the
//! future and at most 10 minutes after `iat`; an installation token must be one the fake
//! issued, not expired; a fine-grained token must be the configured one.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::state::State;

/// The credential a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    None,
    Jwt,
    Installation(u64),
    Token,
    Invalid(String),
}

impl Caller {
    pub fn label(&self) -> String {
        match self {
            Caller::None => "none".into(),
            Caller::Jwt => "jwt".into(),
            Caller::Installation(id) => format!("installation:{id}"),
            Caller::Token => "token".into(),
            Caller::Invalid(why) => format!("invalid:{why}"),
        }
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: serde_json::Value,
}

/// Reads the `Authorization` header (`Bearer X` or `token X`).
pub(crate) fn caller(header: Option<&str>, state: &State, key: &DecodingKey, now: DateTime<Utc>) -> Caller {
    let Some(value) = header else { return Caller::None };
    let Some(credential) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("token ")) else {
        return Caller::Invalid("not a bearer credential".into());
    };
    if credential.matches('.').count() == 2 {
        return jwt(credential, state.app_id, key, now);
    }
    if let Some((installation, expires_at)) = state.issued.get(credential) {
        return if *expires_at > now { Caller::Installation(*installation) } else { Caller::Invalid("expired installation token".into()) };
    }
    if state.token.as_deref() == Some(credential) {
        return Caller::Token;
    }
    Caller::Invalid("unknown token".into())
}

fn jwt(token: &str, app_id: u64, key: &DecodingKey, now: DateTime<Utc>) -> Caller {
    let mut validation = Validation::new(Algorithm::RS256);
    // Expiry is checked below against the fake's clock, exactly.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<Claims>(token, key, &validation) {
        Ok(data) => data.claims,
        Err(err) => return Caller::Invalid(format!("jwt {:?}", err.kind()).chars().take(80).collect()),
    };
    let iss_ok = claims.iss.as_str().map(str::to_owned).or_else(|| claims.iss.as_u64().map(|n| n.to_string()));
    let now = now.timestamp();
    if iss_ok.as_deref() != Some(app_id.to_string().as_str()) {
        Caller::Invalid("jwt issued by another app".into())
    } else if claims.exp <= now {
        Caller::Invalid("jwt expired".into())
    } else if claims.iat > now + 60 {
        Caller::Invalid("jwt issued in the future".into())
    } else if claims.exp - claims.iat > 600 {
        Caller::Invalid("jwt lives over 10 minutes".into())
    } else {
        Caller::Jwt
    }
}
