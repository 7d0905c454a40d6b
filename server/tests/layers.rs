//! The layers point one way (docs/architecture.md): in `app`, `domain` ←
//! `backend` ← `api` ← `components` ← `pages`; in `server`, the
//! verification modules below the REST and operator APIs, and the server
//! never reaching into the app's UI. No file imports from a layer above
//! its own, and no two sibling modules import each other. A test of the
//! source text, so it runs in a blink and names each climbing line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A file's code without its tests (a test may reach anywhere) and
/// without comments.
fn code(path: &Path) -> Vec<(usize, String)> {
    let text = fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or_default().to_string()))
        .collect()
}

/// The app's layers, lowest first; `error` is the one error type every
/// layer returns.
const APP_LAYERS: [&[&str]; 5] =
    [&["domain", "error"], &["backend"], &["api"], &["components"], &["pages", "routes"]];

fn app_level(module: &str) -> Option<usize> {
    APP_LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn no_app_import_climbs_a_layer() {
    let src = root().join("app/src");
    let mut climbing = Vec::new();
    for path in sources(&src) {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let own = first.trim_end_matches(".rs");
        let Some(level) = app_level(own) else { continue };
        for (n, line) in code(&path) {
            for (i, _) in line.match_indices("crate::") {
                let module: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if app_level(&module).is_some_and(|l| l > level) {
                    climbing.push(format!(
                        "app/src/{}:{n}: {own} uses crate::{module}",
                        relative.display()
                    ));
                }
            }
        }
    }
    assert!(climbing.is_empty(), "imports that climb a layer:\n{}", climbing.join("\n"));
}

#[test]
fn no_server_import_climbs_a_layer() {
    let src = root().join("server/src");
    // What each part of the server may not reach.
    let forbidden: [(&str, &[&str]); 4] = [
        ("verify", &["crate::rest", "crate::operator", "crate::startup", "crate::cli"]),
        ("rest", &["crate::operator", "crate::startup", "crate::cli"]),
        ("operator", &["crate::startup", "crate::cli"]),
        ("", &["app::components", "app::pages", "app::routes"]),
    ];
    let mut climbing = Vec::new();
    for path in sources(&src) {
        let relative = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        for (part, refused) in forbidden {
            if !relative.starts_with(part) {
                continue;
            }
            for (n, line) in code(&path) {
                for what in refused {
                    if line.contains(what) {
                        climbing.push(format!("server/src/{relative}:{n}: uses {what}"));
                    }
                }
            }
        }
    }
    assert!(climbing.is_empty(), "imports that climb a layer:\n{}", climbing.join("\n"));
}

/// Sibling files of `dir` that import each other (`super::name`).
fn loops_in(dir: &Path) -> Vec<String> {
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs"))
        .collect();
    let names: BTreeSet<String> =
        files.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for path in &files {
        let me = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (_, line) in code(path) {
            for name in &names {
                if *name != me
                    && (line.contains(&format!("super::{name}::"))
                        || line.contains(&format!("super::{name};"))
                        || line.contains(&format!("super::{{{name}")))
                {
                    uses.entry(me.clone()).or_default().insert(name.clone());
                }
            }
        }
    }
    let mut loops = Vec::new();
    for (a, used) in &uses {
        for b in used {
            if a < b && uses.get(b).is_some_and(|u| u.contains(a)) {
                loops.push(format!("{}: {a} and {b} import each other", dir.display()));
            }
        }
    }
    loops
}

#[test]
fn no_two_modules_import_each_other() {
    let mut loops = Vec::new();
    for dir in ["server/src/verify", "server/src/rest", "server/src/operator", "app/src/backend"] {
        loops.extend(loops_in(&root().join(dir)));
    }
    assert!(loops.is_empty(), "module loops:\n{}", loops.join("\n"));
}
