//! Errors as Image Builder answers them: an HTTP status, the error type in the
//! `x-amzn-ErrorType` header and in the body's `__type`, and a `message`. The SDK turns the type
//! into its typed error (`ResourceNotFoundException`, ...).

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type} ({status}): {message}")]
pub struct ApiError {
    pub status: u16,
    pub error_type: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        Self { status, error_type: error_type.to_owned(), message: message.into() }
    }

    pub fn not_found(arn: &str) -> Self {
        Self::new(404, "ResourceNotFoundException", format!("The resource ARN '{arn}' does not exist."))
    }

    pub fn already_exists(arn: &str) -> Self {
        Self::new(400, "ResourceAlreadyExistsException", format!("The resource ARN '{arn}' already exists."))
    }

    /// A parameter is missing or has a value the service does not take.
    pub fn invalid(parameter: &str, why: impl std::fmt::Display) -> Self {
        Self::new(400, "InvalidParameterValueException", format!("The value supplied for parameter '{parameter}' is not valid. {why}"))
    }

    pub fn dependency(message: impl Into<String>) -> Self {
        Self::new(400, "ResourceDependencyException", message)
    }

    pub fn idempotency_mismatch(token: &str) -> Self {
        Self::new(
            400,
            "IdempotentParameterMismatchException",
            format!("The client token '{token}' was already used with different request parameters."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"__type": self.error_type, "message": self.message});
        let mut response = (status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.error_type) {
            response.headers_mut().insert("x-amzn-ErrorType", v);
        }
        response
    }
}
