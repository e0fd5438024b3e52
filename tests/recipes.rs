//! The extension recipes of docs/architecture.md are true: each lists the
//! files an addition touches beside its own, and the code is such that no
//! other file names an engine, an overlay or an export format. The lists
//! are read from the doc, so the doc and this check cannot drift apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file of src/, relative to the crate root, with its text
/// before any `#[cfg(test)]` (tests may name what they test).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with("_tests.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let text = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            (p.strip_prefix(root()).expect("under the root").to_string_lossy().into_owned(), text)
        })
        .collect()
}

/// The files a recipe of docs/architecture.md names, and the count it
/// states: the recipe's paragraph starts with `**Add an {what}**` and says
/// "(N files …)"; its "Files:" line names them in backticks.
fn recipe(what: &str) -> (usize, BTreeSet<String>) {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let start = doc.find(&format!("**Add {what}**")).unwrap_or_else(|| panic!("no recipe for {what}"));
    let para = doc[start..].split("\n\n").next().unwrap_or_default();
    let count: usize = para
        .split_once('(')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the recipe for {what} states no count: {para}"));
    let files_line = para.split("Files:").nth(1).unwrap_or_else(|| panic!("the recipe for {what} lists no files"));
    let files: BTreeSet<String> =
        files_line.split('`').skip(1).step_by(2).map(|f| f.to_string()).filter(|f| f.contains('/') || f.ends_with(".toml")).collect();
    assert_eq!(files.len(), count, "the recipe for {what} says {count} files but lists {files:?}");
    (count, files)
}

/// Files of src/ other than `own` that mention any of `needles`.
fn mentioning(needles: &[String], own: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
    sources().into_iter().filter(|(p, t)| !own(p) && needles.iter().any(|n| t.contains(n.as_str()))).map(|(p, _)| p).collect()
}

#[test]
fn an_engine_touches_only_the_files_its_recipe_names() {
    let (count, listed) = recipe("an engine");
    assert!(count <= 4, "an engine should touch at most 4 files beside its own, the recipe says {count}");
    // Each local engine, as a new one would be added: its variant, its
    // module and its feature are named only in the listed files.
    for (variant, module, feature) in [("Llama", "llama", "llama"), ("Candle", "candle", "candle")] {
        let needles = vec![
            format!("EngineKind::{variant}"),
            format!("engine::{module}::"),
            format!("feature = \"{feature}\""),
            format!("super::{module}::"),
        ];
        let own_dir = format!("src/engine/{module}/");
        let found = mentioning(&needles, &|p| p.starts_with(&own_dir));
        let stray: Vec<&String> = found.iter().filter(|f| !listed.contains(*f)).collect();
        assert!(stray.is_empty(), "{variant} is named outside its recipe's files: {stray:?}");
    }
}

#[test]
fn an_overlay_touches_only_the_files_its_recipe_names() {
    let (count, listed) = recipe("an overlay");
    assert!(count <= 3, "an overlay should touch at most 3 files beside its own, the recipe says {count}");
    let overlays = sources().into_iter().filter(|(p, _)| p.starts_with("src/app/overlays/") && !p.ends_with("mod.rs"));
    for (own, text) in overlays {
        let types: Vec<String> = text
            .split("impl Overlay for ")
            .skip(1)
            .filter_map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().map(str::to_string))
            .collect();
        assert!(!types.is_empty(), "{own} implements no overlay");
        // Its scopes and their actions live in keymap/action.rs only.
        let scopes: Vec<String> = text
            .split("Scope::")
            .skip(1)
            .filter_map(|rest| rest.split(|c: char| !c.is_alphanumeric()).next().map(|s| format!("Scope::{s}")))
            .collect();
        let mut found = mentioning(&types, &|p| p == own);
        found.extend(mentioning(&scopes, &|p| p == own));
        let openers: Vec<&String> = found.iter().filter(|f| !listed.contains(*f)).collect();
        assert!(
            openers.len() <= 1,
            "{own} ({types:?}) is named outside its recipe's files in more than the one place that opens it: {openers:?}"
        );
    }
}

#[test]
fn an_export_format_touches_one_file() {
    let (count, listed) = recipe("an export format");
    assert_eq!(count, 1, "an export format should be one file beside its own renderer");
    let export = std::fs::read_to_string(root().join("src/store/export.rs")).expect("export.rs");
    let body = export.split("pub enum Format {").nth(1).and_then(|b| b.split('}').next()).expect("the Format enum");
    let variants: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.is_empty())
        .map(|l| format!("Format::{}", l.trim_end_matches(',')))
        .collect();
    assert!(variants.len() >= 5, "{variants:?}");
    let found = mentioning(&variants, &|_| false);
    assert_eq!(found, listed, "export formats are named outside their one file");
}
