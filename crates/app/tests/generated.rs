//! The files generated from the view types and the command table are current: the UI's
//! TypeScript types (`ui/src/lib/backend/generated.ts`) and the command table of
//! `docs/api.md`. `UPDATE=1 cargo test -p rookery-app --test generated` rewrites them.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compares `path` with `want`, or writes it under `UPDATE=1`.
fn check(path: PathBuf, want: &str) {
    if std::env::var_os("UPDATE").is_some() {
        std::fs::write(&path, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is not what the Rust types make; run `UPDATE=1 cargo test -p rookery-app --test generated`",
        path.display()
    );
}

#[test]
fn ui_types_are_generated_from_the_views() {
    check(
        root().join("ui/src/lib/backend/generated.ts"),
        &rookery_app::table::typescript(),
    );
}

#[test]
fn the_api_doc_lists_every_command() {
    const START: &str = "<!-- commands: generated from crates/app/src/commands.rs -->\n";
    const END: &str = "<!-- end of commands -->";
    let path = root().join("docs/api.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = doc
        .split_once(START)
        .expect("docs/api.md has the commands marker");
    let (_, after) = rest
        .split_once(END)
        .expect("docs/api.md has the end marker");
    let want = format!(
        "{before}{START}{}{END}{after}",
        rookery_app::table::markdown_table()
    );
    check(path, &want);
}

#[test]
fn every_command_is_named_once() {
    let mut names: Vec<&str> = rookery_app::COMMANDS.iter().map(|c| c.name).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
    assert!(
        rookery_app::COMMANDS
            .iter()
            .all(|c| !c.doc.trim().is_empty())
    );
}
