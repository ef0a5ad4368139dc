//! Image Builder ARNs, spelled like the real service spells them.
//!
//! The service keeps a resource's display name but puts a lowercased form in the ARN (`My_Recipe`
//! becomes `my-recipe`), so two names that differ only in case or `_`/`-` collide, as on AWS.

/// The partition, region and account the fake pretends to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub region: String,
    pub account_id: String,
}

impl Default for Account {
    fn default() -> Self {
        Self { region: "us-east-1".to_owned(), account_id: "123456789012".to_owned() }
    }
}

impl Account {
    /// `arn:aws:imagebuilder:<region>:<account>:<kind>/<path>`.
    pub fn arn(&self, kind: &str, path: &str) -> String {
        format!("arn:aws:imagebuilder:{}:{}:{kind}/{path}", self.region, self.account_id)
    }

    /// A name-only resource (configurations, pipelines).
    pub fn named(&self, kind: &str, name: &str) -> String {
        self.arn(kind, &arn_name(name))
    }
}

/// The form of a name that appears in an ARN: lowercase, with anything but `a-z 0-9 -`
/// replaced by `-`.
pub fn arn_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '-' }
        })
        .collect()
}

/// An Image Builder ARN taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn<'a> {
    /// The account, or `aws` for Amazon-managed resources.
    pub owner: &'a str,
    /// `component`, `image-recipe`, `image-pipeline`, `image`, ...
    pub kind: &'a str,
    /// What follows the kind: `name`, `name/1.0.0`, `name/1.0.0/1`.
    pub segments: Vec<&'a str>,
}

pub fn parse(arn: &str) -> Option<ParsedArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("imagebuilder"), Some(_region), Some(owner), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (kind, path) = rest.split_once('/')?;
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(ParsedArn { owner, kind, segments })
}

/// Whether `v` is a semantic version `major.minor.patch` of non-negative integers.
pub fn is_semver(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 9 && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_in_arns() {
        let a = Account::default();
        assert_eq!(a.named("image-pipeline", "My_Pipe"), "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/my-pipe");
    }

    #[test]
    fn arns_parse_into_owner_kind_and_segments() {
        let p = parse("arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0/1").unwrap();
        assert_eq!((p.owner, p.kind, p.segments), ("aws", "component", vec!["update-linux", "1.0.0", "1"]));
        assert!(parse("arn:aws:s3:::bucket").is_none());
        assert!(parse("arn:aws:imagebuilder:us-east-1:1:component//1.0.0").is_none());
    }

    #[test]
    fn semantic_versions() {
        assert!(is_semver("1.0.0"));
        assert!(!is_semver("1.0"));
        assert!(!is_semver("1.x.0"));
    }
}
