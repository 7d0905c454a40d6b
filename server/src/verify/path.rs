//! The original request's path as forward auth judges it (docs/design.md#forward-auth):
//! the way the upstream will route it, or refused when upstreams disagree
//! about what it means.
//!
//! Dot segments are removed from the raw path (as nginx and most routers
//! do). Anything that one upstream decodes into a separator and another
//! does not — an encoded `/`, `\` or `.`, a backslash, a `;` parameter
//! (`..;/` on Tomcat), an empty segment (`//`, merged by nginx, kept by
//! others), a NUL or control character — is refused, so no spelling of a
//! path can be judged as one route and served as another.

use std::fmt;

/// The longest original path accepted (bytes, before decoding).
pub const MAX_PATH_BYTES: usize = 4096;

/// Why a path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    Empty,
    TooLong,
    NotAbsolute,
    /// `%2F`, `%5C`, `%2E`, `%3B`: upstreams disagree on what they mean.
    EncodedSeparator,
    Backslash,
    /// `;` starts a path parameter on some servers.
    Parameter,
    EmptySegment,
    ControlCharacter,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// Percent-escapes that do not decode to UTF-8, or raw non-ASCII bytes.
    NotUtf8,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Empty => "The original path is empty.",
            PathError::TooLong => "The original path is too long.",
            PathError::NotAbsolute => "The original path must start with /.",
            PathError::EncodedSeparator => {
                "The original path contains an encoded /, \\, . or ; and is refused."
            }
            PathError::Backslash => "The original path contains a backslash and is refused.",
            PathError::Parameter => "The original path contains a ; parameter and is refused.",
            PathError::EmptySegment => "The original path contains // and is refused.",
            PathError::ControlCharacter => {
                "The original path contains a control character and is refused."
            }
            PathError::BadEscape => "The original path contains a malformed %-escape.",
            PathError::NotUtf8 => "The original path is not valid UTF-8.",
        })
    }
}

impl std::error::Error for PathError {}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The path of the request URI `uri` (query and fragment cut) as the
/// upstream will route it: percent-escapes decoded once, dot segments
/// removed; or why it is refused.
pub fn normalise(uri: &str) -> Result<String, PathError> {
    let raw = uri.split(['?', '#']).next().unwrap_or("");
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(PathError::BadEscape);
                };
                i += 3;
                let b = hi << 4 | lo;
                if matches!(b, b'/' | b'\\' | b'.' | b';') {
                    return Err(PathError::EncodedSeparator);
                }
                b
            }
            b'\\' => return Err(PathError::Backslash),
            b';' => return Err(PathError::Parameter),
            b if b >= 0x80 => return Err(PathError::NotUtf8),
            b => {
                i += 1;
                b
            }
        };
        if b < 0x20 || b == 0x7f {
            return Err(PathError::ControlCharacter);
        }
        decoded.push(b);
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
    if decoded.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    // Segments after the leading `/`; only the last may be empty (a
    // trailing slash).
    let raw_segments: Vec<&str> = decoded[1..].split('/').collect();
    let last = raw_segments.len() - 1;
    let mut segments: Vec<&str> = Vec::with_capacity(raw_segments.len());
    for (n, segment) in raw_segments.iter().enumerate() {
        match *segment {
            "" if n < last => return Err(PathError::EmptySegment),
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = matches!(raw_segments[last], "" | "." | "..") && !segments.is_empty();
    let mut out = String::with_capacity(decoded.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_are_judged_as_the_upstream_routes_them() {
        use PathError::*;
        let cases: &[(&str, Result<&str, PathError>)] = &[
            ("/v1/data", Ok("/v1/data")),
            ("/v1/data?x=1#f", Ok("/v1/data")),
            ("/v1/data/", Ok("/v1/data/")),
            ("/", Ok("/")),
            ("/v1/data/../admin", Ok("/v1/admin")),
            ("/v1/./data", Ok("/v1/data")),
            ("/v1/data/.", Ok("/v1/data/")),
            ("/v1/data/..", Ok("/v1/")),
            ("/../../etc/passwd", Ok("/etc/passwd")),
            ("/..", Ok("/")),
            ("/v1/%64ata", Ok("/v1/data")),
            ("/v1/caf%C3%A9", Ok("/v1/café")),
            ("/V1/DATA", Ok("/V1/DATA")),
            ("/v1/%2e%2e/admin", Err(EncodedSeparator)),
            ("/v1/%2E./admin", Err(EncodedSeparator)),
            ("/v1%2Fdata", Err(EncodedSeparator)),
            ("/v1%2fdata", Err(EncodedSeparator)),
            ("/v1%5Cdata", Err(EncodedSeparator)),
            ("/v1/data%3Bx", Err(EncodedSeparator)),
            ("/v1/data/..;/admin", Err(Parameter)),
            ("/v1/data;jsessionid=1", Err(Parameter)),
            ("/v1\\data", Err(Backslash)),
            ("//v1/data", Err(EmptySegment)),
            ("/v1//data", Err(EmptySegment)),
            ("/v1/data%00", Err(ControlCharacter)),
            ("/v1/data%09", Err(ControlCharacter)),
            ("/v1/data%7f", Err(ControlCharacter)),
            ("/v1/data\t", Err(ControlCharacter)),
            ("/v1/%C2%85", Err(ControlCharacter)),
            ("/v1/%zz", Err(BadEscape)),
            ("/v1/%4", Err(BadEscape)),
            ("/v1/%", Err(BadEscape)),
            ("/v1/%C3", Err(NotUtf8)),
            ("/v1/é", Err(NotUtf8)),
            ("v1/data", Err(NotAbsolute)),
            ("http://evil/v1/data", Err(NotAbsolute)),
            ("", Err(Empty)),
            ("?x", Err(Empty)),
        ];
        for (input, want) in cases {
            assert_eq!(normalise(input).as_deref().map_err(|e| *e), *want, "{input:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(normalise(&long), Err(TooLong));
    }

    fn encode(path: &str) -> String {
        path.bytes()
            .map(|b| match b {
                b'%' | b'?' | b'#' | 0x80.. => format!("%{b:02X}"),
                b => char::from(b).to_string(),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn no_input_panics_and_every_answer_is_a_clean_absolute_path(input in ".{0,300}") {
            if let Ok(path) = normalise(&input) {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.contains("//"));
                prop_assert!(!path.split('/').any(|s| s == "." || s == ".."));
                prop_assert!(!path.contains(['\\', ';']) && !path.chars().any(char::is_control));
                // Judging is stable: the judged path, encoded again, judges to itself.
                prop_assert_eq!(normalise(&encode(&path)).ok(), Some(path.clone()));
            }
        }

        #[test]
        fn paths_built_from_tricky_pieces_never_panic(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("/"), Just(".."), Just("."), Just("%2e"), Just("%2F"), Just(";"),
                    Just("\\"), Just("%00"), Just("v1"), Just("data"), Just("%"), Just("%C3"),
                    Just("?"), Just("#"),
                ],
                0..20,
            )
        ) {
            let _ = normalise(&pieces.concat());
        }
    }
}
