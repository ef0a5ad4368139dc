//! The storage codec of praktika's feeds: JSON, gzip-compressed.
//!
//! praktika writes feeds with Python's `gzip.compress` and reads them with `gzip.decompress`,
//! which also accepts several concatenated gzip members. Pulse compresses at the fast level with
//! the zlib-rs backend: feeds are rewritten on every CI event, so CPU per write matters more
//! than the few extra kilobytes stored (see BENCHMARKS.md).

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("cannot serialize value to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    #[error("cannot deserialize JSON: {0}")]
    Deserialize(#[source] serde_json::Error),
    #[error("gzip (de)compression failed: {0}")]
    Gzip(#[source] std::io::Error),
}

/// Serialize `value` to JSON and gzip it.
pub fn encode_gzip_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let json = serde_json::to_vec(value).map_err(CodecError::Serialize)?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 64), Compression::fast());
    encoder.write_all(&json).map_err(CodecError::Gzip)?;
    encoder.finish().map_err(CodecError::Gzip)
}

/// Gunzip `bytes` and deserialize the JSON inside. Bytes without the gzip magic are read as plain
/// JSON, so an object some tool stored uncompressed still reads.
pub fn decode_gzip_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return serde_json::from_slice(bytes).map_err(CodecError::Deserialize);
    }
    let mut json = Vec::with_capacity(bytes.len().saturating_mul(8));
    MultiGzDecoder::new(bytes).read_to_end(&mut json).map_err(CodecError::Gzip)?;
    serde_json::from_slice(&json).map_err(CodecError::Deserialize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_reads_concatenated_members_and_plain_json() {
        let value = json!({"events": [{"sha": "abc"}]});
        let bytes = encode_gzip_json(&value).unwrap();
        assert!(bytes.starts_with(&GZIP_MAGIC));
        assert_eq!(decode_gzip_json::<serde_json::Value>(&bytes).unwrap(), value);

        // Two gzip members whose concatenation is one JSON document, as gzip tools may write.
        let (a, b) = (br#"{"events":"#.as_slice(), br#"[]}"#.as_slice());
        let mut both = Vec::new();
        for part in [a, b] {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(part).unwrap();
            both.extend(e.finish().unwrap());
        }
        assert_eq!(decode_gzip_json::<serde_json::Value>(&both).unwrap(), json!({"events": []}));
        assert_eq!(decode_gzip_json::<serde_json::Value>(br#"{"x":1}"#).unwrap(), json!({"x": 1}));
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_panic() {
        let bytes = encode_gzip_json(&json!({"k": "v".repeat(1000)})).unwrap();
        assert!(matches!(decode_gzip_json::<serde_json::Value>(&bytes[..bytes.len() / 2]), Err(CodecError::Gzip(_))));
    }
}
