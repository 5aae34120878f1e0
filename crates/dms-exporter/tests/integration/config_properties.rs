//! Property tests of configuration parsing: random edits of every fixture (values of any type
//! and size, lines dropped, repeated or re-indented, the text cut short, garbage) never panic;
//! a refused file gives typed problems, each naming a field and a line within the file.
//! `PROPTEST_CASES` sets the random cases (default 256); 20,000 took 48 s in a debug build here.
//! A million:
//!
//!     PROPTEST_CASES=1000000 cargo test --release -p dms_exporter --test integration config_properties

use std::path::PathBuf;
use std::sync::LazyLock;

use dms_exporter::config::{self, ConfigError};
use proptest::prelude::*;

/// Every fixture's text, read once.
fn fixtures() -> &'static [String] {
    static TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/config");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("tests/config exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("fixture"))
            .collect()
    });
    &TEXTS
}

/// Parses `text`; a refusal must list problems that each name a field and a message, at a
/// line of the text (or none, 0, for problems of the whole file).
fn check(text: &str) -> Result<(), TestCaseError> {
    match config::parse_str(text, "prop.yaml") {
        Ok(_) => Ok(()),
        Err(error @ ConfigError::Invalid { .. }) => {
            // YAML breaks lines at `\r` too.
            let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count() as u64;
            prop_assert!(!error.problems().is_empty(), "no problem listed");
            for problem in error.problems() {
                prop_assert!(!problem.field.is_empty(), "{problem:?}");
                prop_assert!(!problem.message.is_empty(), "{problem:?}");
                prop_assert!(problem.line <= lines, "{problem:?} beyond {lines} lines");
            }
            let rendered = error.to_string();
            prop_assert!(rendered.starts_with("prop.yaml"), "{rendered}");
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "not a located problem: {other}"
        ))),
    }
}

/// A scalar of any YAML type, including values that overflow or mean nothing here.
fn any_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        Just("9223372036854775807".to_owned()),
        Just("-1".to_owned()),
        Just("1e-30".to_owned()),
        Just(".nan".to_owned()),
        Just("-.inf".to_owned()),
        Just("~".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[a, [b, {c: d}]]".to_owned()),
        Just("{x: 1, y: [2]}".to_owned()),
        Just("\"\"".to_owned()),
        Just("'".to_owned()),
        Just("&anchor 1".to_owned()),
        Just("*missing".to_owned()),
        Just("!!binary aGk=".to_owned()),
        Just("|\n  block".to_owned()),
        "[0-9]{1,15}(ns|us|ms|s|m|h|d|w|y|years)".prop_map(String::from),
        "(http|https|ftp)://[a-z .:0-9/?#@]{0,20}".prop_map(String::from),
        ".{0,20}".prop_map(String::from),
    ]
}

/// One edit of a document's lines.
#[derive(Debug, Clone)]
enum Edit {
    /// The value after `key:` on a line becomes the scalar.
    Value(prop::sample::Index, String),
    Drop(prop::sample::Index),
    Repeat(prop::sample::Index),
    /// Indentation changed by this many spaces (negative removes).
    Indent(prop::sample::Index, i8),
    /// Text inserted at a byte position.
    Insert(prop::sample::Index, String),
    /// The document cut at a position.
    Cut(prop::sample::Index),
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), any_scalar()).prop_map(|(i, s)| Edit::Value(i, s)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Drop),
        1 => any::<prop::sample::Index>().prop_map(Edit::Repeat),
        1 => (any::<prop::sample::Index>(), -4_i8..=4).prop_map(|(i, n)| Edit::Indent(i, n)),
        1 => (any::<prop::sample::Index>(), ".{0,8}").prop_map(|(i, s)| Edit::Insert(i, s)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Cut),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let count = lines.len();
    match edit {
        Edit::Value(at, scalar) => {
            let line = &mut lines[at.index(count)];
            if let Some((key, _)) = line.split_once(": ") {
                *line = format!("{key}: {scalar}");
            } else if let Some(key) = line.strip_suffix(':') {
                *line = format!("{key}: {scalar}");
            }
        }
        Edit::Drop(at) => {
            lines.remove(at.index(lines.len()));
        }
        Edit::Repeat(at) => {
            let at = at.index(lines.len());
            lines.insert(at, lines[at].clone());
        }
        Edit::Indent(at, by) => {
            let line = &mut lines[at.index(count)];
            *line = if *by >= 0 {
                format!("{}{line}", " ".repeat(usize::from(by.unsigned_abs())))
            } else {
                let strip = usize::from(by.unsigned_abs());
                line.strip_prefix(&" ".repeat(strip))
                    .map_or_else(|| line.clone(), str::to_owned)
            };
        }
        Edit::Insert(at, inserted) => {
            let joined = lines.join("\n");
            let mut at = at.index(joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return format!("{}{inserted}{}", &joined[..at], &joined[at..]);
        }
        Edit::Cut(at) => {
            let joined = lines.join("\n");
            let mut at = at.index(joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return joined[..at].to_owned();
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #[test]
    fn edited_fixtures_parse_or_name_their_problems(
        fixture in any::<prop::sample::Index>(),
        edits in prop::collection::vec(any_edit(), 1..6),
    ) {
        let fixtures = fixtures();
        let mut text = fixtures[fixture.index(fixtures.len())].clone();
        for edit in &edits {
            text = apply(&text, edit);
        }
        check(&text)?;
    }

    #[test]
    fn arbitrary_text_parses_or_names_its_problems(text in "(.|\n){0,200}") {
        check(&text)?;
    }
}

/// Inputs shaped to exhaust a parser: deep nesting, alias expansion, a huge scalar.
#[test]
fn pathological_documents_are_refused_without_exhausting_the_process() {
    let deep_flow = format!("regions: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let deep_block: String = (0..2_000)
        .map(|depth| format!("{}k{depth}:\n", " ".repeat(depth)))
        .collect();
    let aliases = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let huge = format!("regions:\n  - name: {}\n", "a".repeat(900_000));
    for text in [deep_flow, deep_block, aliases.to_owned(), huge] {
        let result = config::parse_str(&text, "prop.yaml");
        assert!(result.is_err(), "{}…", &text[..40]);
    }
}
