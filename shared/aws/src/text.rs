//! Small text helpers for what Pulse stores about failures.

/// At most `max` bytes of `text`, cut at a character boundary: error messages kept in DynamoDB
/// items and SQS attributes must stay bounded without splitting a UTF-8 character.
pub fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_char_boundaries() {
        assert_eq!(truncate_utf8("short", 1024), "short");
        let long = "é".repeat(1000); // 2000 bytes
        let cut = truncate_utf8(&long, 1023);
        assert_eq!(cut.len(), 1022);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
