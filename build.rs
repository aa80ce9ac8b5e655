//! Embeds the bundled fixtures: writes `$OUT_DIR/bundled_fixtures.rs`, a
//! list of `("wat/NAME", include_str!(...))` for every `.wat` and `.toml`
//! file of `wat/`, which the CLI's `suite` runs when given no directory. So
//! an installed binary carries its fixtures and runs them from any folder.
//! Without a `wat/` folder (a packaged copy of the crate), the list is empty.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("wat");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wat" || e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 fixture name");
        writeln!(
            out,
            "    (\"wat/{name}\", include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to a String");
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundled_fixtures.rs");
    std::fs::write(target, out).expect("write the fixture list");
}
