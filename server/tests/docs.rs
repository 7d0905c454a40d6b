//! The documentation holds together. README.md and every page under docs/
//! are read the way GitHub renders them: each relative link or image must
//! reach a file of this repository, and each `#anchor` a heading of the page
//! it names (links inside fenced code blocks and code spans are not links).
//! And no source, test, script or page cites a file outside the repository:
//! the project's own product reference is docs/design.md.
//!
//! Only the standard library, so the check costs nothing to build.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Where the code, tests, scripts and pages live: no file under these may
/// cite a file outside the repository. Not `app/migrations`: an applied
/// migration is checksummed, so its comments stay as they were written.
const SEARCHED: [&str; 12] = [
    "README.md",
    "docs",
    "app/src",
    "server/src",
    "server/tests",
    "server/examples",
    "frontend/src",
    "end2end/tests",
    "scripts",
    "examples",
    "Dockerfile",
    ".ci",
];

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = repository();
    let pages = pages(&root);
    assert!(pages.len() > 1, "README.md and the pages under docs/ are the documentation");
    let mut anchors = Anchors::default();
    let mut broken = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()));
        for (number, line) in prose(&text) {
            for target in targets(line) {
                if let Some(why) = problem(&root, page, &target, &mut anchors) {
                    broken.push(format!("{}:{number}: {why}", relative(&root, page)));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} broken link(s) in the documentation:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn nothing_cites_outside_the_repository() {
    // Spelled in pieces, so that this file does not cite them itself.
    let needles = [concat!("DESIGN", ".md"), concat!("..", "/shared")];
    let root = repository();
    let mut found = Vec::new();
    for place in SEARCHED {
        let path = root.join(place);
        let files = if path.is_file() { vec![path] } else { files_under(&path) };
        for file in files {
            let Ok(bytes) = fs::read(&file) else { continue };
            let text = String::from_utf8_lossy(&bytes);
            for (number, line) in text.lines().enumerate() {
                for needle in needles.iter().filter(|needle| line.contains(**needle)) {
                    found.push(format!("{}:{}: {needle}", relative(&root, &file), number + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "cite docs/design.md (or another file of this repository) instead of these:\n{}",
        found.join("\n")
    );
}

/// The repository: the parent of the server crate.
fn repository() -> PathBuf {
    let server = Path::new(env!("CARGO_MANIFEST_DIR"));
    server.parent().expect("the server crate sits inside the repository").to_path_buf()
}

/// `path` as the repository names it, for messages.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Every file under `dir`, sorted; none when `dir` does not exist.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// README.md and every markdown page under docs/.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    let docs = files_under(&root.join("docs"));
    pages.extend(docs.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")));
    pages
}

/// The lines of a markdown text outside fenced code blocks, numbered from 1.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    // The open fence's character and length.
    let mut open: Option<(u8, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        match (open, fence(line)) {
            // A backtick fence's info string holds no backtick.
            (None, Some((marker, length, info))) if marker == b'~' || !info.contains('`') => {
                open = Some((marker, length));
            }
            (Some((marker, length)), Some((m, l, rest)))
                if m == marker && l >= length && rest.trim().is_empty() =>
            {
                open = None;
            }
            (None, _) => lines.push((index + 1, line)),
            (Some(_), _) => {}
        }
    }
    lines
}

/// A fence line (three or more backticks or tildes, however indented, as
/// inside list items): its character, its length and what follows it.
fn fence(line: &str) -> Option<(u8, usize, &str)> {
    let trimmed = line.trim_start();
    let marker = *trimmed.as_bytes().first()?;
    if marker != b'`' && marker != b'~' {
        return None;
    }
    let length = trimmed.bytes().take_while(|b| *b == marker).count();
    if length < 3 {
        return None;
    }
    Some((marker, length, &trimmed[length..]))
}

/// `line` without its code spans (`like this`), which hold no links.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].bytes().take_while(|b| *b == b'`').count();
        let after = &rest[start + ticks..];
        out.push_str(&rest[..start]);
        match closing_ticks(after, ticks) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(&rest[start..start + ticks]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where the first run of exactly `ticks` backticks in `text` starts.
fn closing_ticks(text: &str, ticks: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let run = bytes[at..].iter().take_while(|b| **b == b'`').count();
        if run == ticks {
            return Some(at);
        }
        at += run.max(1);
    }
    None
}

/// The targets of the links and images on one line, `[text](target)` and
/// `![alt](target)`, and of a reference definition, `[name]: target`.
fn targets(line: &str) -> Vec<String> {
    let line = without_code(line);
    let mut found = Vec::new();
    let trimmed = line.trim_start();
    if let Some(label) = trimmed.strip_prefix('[')
        && let Some(end) = label.find("]:")
        && !label[..end].contains(['[', ']'])
        && let Some(target) = label[end + 2..].split_whitespace().next()
    {
        found.push(target.trim_start_matches('<').trim_end_matches('>').to_string());
    }
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let (target, used) = destination(after);
        found.push(target.to_string());
        rest = &after[used..];
    }
    found
}

/// The link destination at the start of `text` (just after `](`), and how
/// many bytes it took: `<…>`, or up to white space or the `)` closing it.
fn destination(text: &str) -> (&str, usize) {
    if let Some(inner) = text.strip_prefix('<') {
        let end = inner.find('>').unwrap_or(inner.len());
        return (&inner[..end], 1 + end);
    }
    let mut depth = 0usize;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return (&text[..at], at),
            ')' => depth -= 1,
            c if c.is_whitespace() => return (&text[..at], at),
            _ => {}
        }
    }
    (text, text.len())
}

/// Whether `target` names a scheme (`https:`, `mailto:`, …): not a file here.
fn is_external(target: &str) -> bool {
    match target.split_once(':') {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// What is wrong with `target`, linked from `page`, if anything.
fn problem(root: &Path, page: &Path, target: &str, anchors: &mut Anchors) -> Option<String> {
    if is_external(target) {
        return None;
    }
    if target.is_empty() {
        return Some("a link with no target".into());
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let path = path.split('?').next().unwrap_or_default();
    let file = if path.is_empty() {
        page.to_path_buf()
    } else {
        let path = percent_decoded(path);
        let joined = match path.strip_prefix('/') {
            Some(from_root) => root.join(from_root),
            None => page.parent().unwrap_or(root).join(&path),
        };
        match lexically_normal(&joined) {
            Some(file) if file.starts_with(root) => file,
            _ => return Some(format!("{target}: points outside the repository")),
        }
    };
    if !file.exists() {
        return Some(format!("{target}: no such file {}", relative(root, &file)));
    }
    let anchor = match anchor.map(percent_decoded) {
        Some(anchor) if !anchor.is_empty() => anchor,
        _ => return None,
    };
    if file.extension().is_none_or(|e| e != "md") {
        return (!is_line_anchor(&anchor))
            .then(|| format!("{target}: #{anchor} on a file that is not markdown"));
    }
    if anchors.of(&file).contains(&anchor) {
        None
    } else {
        Some(format!("{target}: no heading #{anchor} in {}", relative(root, &file)))
    }
}

/// `path` with `.` and `..` worked out; `None` when `..` climbs above `/`.
fn lexically_normal(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// GitHub's anchors for lines of a source file: `L12` or `L12-L20`.
fn is_line_anchor(anchor: &str) -> bool {
    let line = |part: &str| {
        part.strip_prefix('L')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    match anchor.split_once('-') {
        Some((from, to)) => line(from) && line(to),
        None => line(anchor),
    }
}

/// `text` with `%XX` escapes decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escape = bytes
            .get(at + 1..at + 3)
            .filter(|_| bytes[at] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The anchors of markdown pages, each page read once.
#[derive(Default)]
struct Anchors(HashMap<PathBuf, Vec<String>>);

impl Anchors {
    fn of(&mut self, page: &Path) -> &[String] {
        self.0
            .entry(page.to_path_buf())
            .or_insert_with(|| anchors_of(&fs::read_to_string(page).unwrap_or_default()))
    }
}

/// The anchors GitHub gives a page: one per heading outside code blocks (a
/// repeated one gets `-1`, `-2`, …), and any `<a id="…">` or `<a name="…">`.
fn anchors_of(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    for (_, line) in prose(text) {
        if let Some(heading) = heading(line) {
            let slug = slug(heading);
            let repeats = seen.entry(slug.clone()).or_insert(0);
            anchors.push(if *repeats == 0 { slug } else { format!("{slug}-{repeats}") });
            *repeats += 1;
        }
        let mut rest = line;
        while let Some(at) = rest.find("<a ") {
            let end = rest[at..].find('>').map_or(rest.len(), |end| at + end);
            let tag = &rest[at..end];
            for attribute in [" id=\"", " name=\""] {
                if let Some(start) = tag.find(attribute)
                    && let Some(value) = tag[start + attribute.len()..].split('"').next()
                {
                    anchors.push(value.to_string());
                }
            }
            rest = &rest[end..];
        }
    }
    anchors
}

/// The text of an ATX heading (`## Text`, at most three spaces in), if
/// `line` is one, without a closing run of `#`.
fn heading(line: &str) -> Option<&str> {
    let unindented = line.trim_start_matches(' ');
    let level = unindented.bytes().take_while(|b| *b == b'#').count();
    if line.len() - unindented.len() > 3 || !(1..=6).contains(&level) {
        return None;
    }
    let text = &unindented[level..];
    if !text.is_empty() && !text.starts_with([' ', '\t']) {
        return None;
    }
    let text = text.trim();
    let open = text.trim_end_matches('#');
    Some(if open.is_empty() || open.ends_with([' ', '\t']) { open.trim_end() } else { text })
}

/// GitHub's anchor for a heading: its text as rendered (links and images by
/// their text, no HTML tags), lowercased, every character but letters,
/// digits, spaces, `-` and `_` dropped, and each space turned into `-`.
fn slug(heading: &str) -> String {
    rendered(heading)
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A heading's text without link destinations and HTML tags.
fn rendered(heading: &str) -> String {
    let mut out = String::new();
    let mut rest = heading;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("](") {
            let (_, used) = destination(after);
            rest = after[used..].strip_prefix(')').unwrap_or(&after[used..]);
        } else if c == '<'
            && rest[1..].starts_with(|n: char| n.is_ascii_alphabetic() || n == '/')
            && let Some(end) = rest.find('>')
        {
            rest = &rest[end + 1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[test]
fn anchors_follow_github() {
    assert_eq!(slug("Verification codes"), "verification-codes");
    assert_eq!(slug("`POST /v1/keys/verify`"), "post-v1keysverify");
    assert_eq!(
        slug("More options for a platform's customers"),
        "more-options-for-a-platforms-customers"
    );
    assert_eq!(slug("See [the gateway](gateway.md) first"), "see-the-gateway-first");
    assert_eq!(slug("snake_case and 2 spaces  here"), "snake_case-and-2-spaces--here");
    assert_eq!(heading("## Roles ##"), Some("Roles"));
    assert_eq!(heading("#hashtag"), None);
    assert_eq!(heading("    # indented code"), None);
    assert_eq!(anchors_of("# A\n```\n# B\n```\n## A\n"), ["a", "a-1"]);
    assert_eq!(targets("[a](x.md#y) and ![b](img.png \"t\") `[c](no.md)`"), ["x.md#y", "img.png"]);
    assert_eq!(targets("[ref]: docs/a.md"), ["docs/a.md"]);
    assert!(is_external("https://example.com") && is_external("mailto:a@b.test"));
    assert!(!is_external("docs/a.md#b:c"));
    assert!(is_line_anchor("L12-L20") && !is_line_anchor("L") && !is_line_anchor("roles"));
    assert_eq!(percent_decoded("a%20b%zz"), "a b%zz");
}
