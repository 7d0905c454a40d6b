//! Where to go after sign-in (`?next=`): only a path on this site.

/// The longest `next` followed, in bytes.
const MAX_NEXT: usize = 2048;

/// `next` when it is a same-site path, else `/`.
///
/// Accepted: printable ASCII starting with a single `/`. Refused: `//` and
/// `\` (other hosts to a browser), any whitespace or control character
/// (browsers drop tabs and newlines, so `/\t/evil.example` would become
/// `//evil.example`), non-ASCII (must arrive percent-encoded) and over-long
/// input. What passes is also safe to put in a `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.len() <= MAX_NEXT
                && n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;
    use proptest::prelude::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        for ok in [
            "/orgs/acme/settings/members",
            "/orgs/acme/settings/api-keys?env=production&page=2",
            "/",
            "/a%20b",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for hostile in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "evil",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\u{1}",
            " /x",
            "/x y",
            "/\u{0}",
            "/é",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(3000)))), "/");
        assert_eq!(safe_next(None), "/");
    }

    proptest! {
        #[test]
        fn every_accepted_next_stays_on_this_site(next in "\\PC{0,40}|/[\\t\\n\\\\/ -~]{0,40}") {
            let followed = safe_next(Some(&next));
            let base = url::Url::parse("https://keys.example/settings/").unwrap();
            let target = base.join(&followed).unwrap();
            prop_assert_eq!(target.origin(), base.origin());
            prop_assert!(http::HeaderValue::from_str(&followed).is_ok());
        }
    }
}
