//! DynamoDB attribute shorthands shared by the stores built on it.

use aws_sdk_dynamodb::types::AttributeValue;

/// A string attribute.
pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute.
pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
