//! Small Block Kit helpers shared by the renderers.

/// Cut `text` to Slack's limit of `max` characters, ending with "…" when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_marks_the_cut() {
        assert_eq!(super::cut("abcdef", 4), "abc…");
        assert_eq!(super::cut("abc", 4), "abc");
    }
}
