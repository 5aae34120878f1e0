//! Where keys are written in the YAML text, so that problems found after parsing (and parse
//! errors, which know only a position) can name both the field and the line. It reads block
//! YAML by indentation, which is how configuration files are written; a key it cannot place
//! falls back to the nearest enclosing one.

/// A key path (`regions[1].projects`) and where it is written (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyLine {
    pub path: String,
    pub line: u64,
    pub column: u64,
}

/// Every key of a document with its position.
#[derive(Debug, Default)]
pub(super) struct KeyLines(Vec<KeyLine>);

fn join(stack: &[(usize, String)]) -> String {
    let mut path = String::new();
    for (_, segment) in stack {
        if !path.is_empty() && !segment.starts_with('[') {
            path.push('.');
        }
        path.push_str(segment);
    }
    path
}

/// The key of `key: value` or `key:`, if the text starts with one.
fn key_of(text: &str) -> Option<&str> {
    if text.starts_with(['{', '[', '"', '\'', '#']) {
        return None;
    }
    let end = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(str::len))?;
    // `: value` has no key (a property test found `:` naming the empty field).
    Some(text[..end].trim()).filter(|key| !key.is_empty())
}

impl KeyLines {
    pub(super) fn scan(text: &str) -> Self {
        let mut keys = Vec::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        let mut item_counts: std::collections::BTreeMap<String, usize> = Default::default();
        for (number, raw) in text.lines().enumerate() {
            let line = (number + 1) as u64;
            let content = raw.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut indent = raw.len() - content.len();
            let mut rest = content;
            if let Some(item) = rest
                .strip_prefix("- ")
                .or_else(|| (rest == "-").then_some(""))
            {
                stack.retain(|(i, _)| *i < indent);
                let parent = join(&stack);
                let count = item_counts.entry(parent).or_default();
                stack.push((indent, format!("[{count}]")));
                *count += 1;
                indent += 2;
                rest = item;
            }
            if let Some(key) = key_of(rest) {
                stack.retain(|(i, _)| *i < indent);
                stack.push((indent, key.to_owned()));
                let path = join(&stack);
                keys.push(KeyLine {
                    path: path.clone(),
                    line,
                    column: indent as u64 + 1,
                });
                // Keys of a flow mapping on the same line: `kafka_groups: {interval: 30s}`.
                let value = rest[key.len()..].trim_start_matches(':').trim();
                if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                    for entry in inner.split(',') {
                        if let Some((child, _)) = entry.split_once(':') {
                            let column = raw.find(child.trim()).unwrap_or(indent) as u64 + 1;
                            keys.push(KeyLine {
                                path: format!("{path}.{}", child.trim()),
                                line,
                                column,
                            });
                        }
                    }
                }
            }
        }
        Self(keys)
    }

    /// Where a path is written, or its nearest written ancestor.
    /// Where exactly the key `path` is written; `None` when the file does not write it.
    pub(super) fn exact_position_of(&self, path: &str) -> Option<(u64, u64)> {
        self.0
            .iter()
            .find(|key| key.path == path)
            .map(|key| (key.line, key.column))
    }

    pub(super) fn position_of(&self, path: &str) -> Option<(u64, u64)> {
        let mut candidate = path;
        loop {
            if let Some(key) = self.0.iter().find(|k| k.path == candidate) {
                return Some((key.line, key.column));
            }
            let cut = candidate.rfind(['.', '['])?;
            candidate = &candidate[..cut];
        }
    }

    /// The path of the key written at `line` and `column` (the last one starting at or before
    /// the column, for flow mappings), or the nearest key above it.
    pub(super) fn path_at(&self, line: u64, column: u64) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|k| k.line < line || (k.line == line && k.column <= column))
            .map(|k| k.path.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "regions:\n  - name: a\n    projects: [p]\n  - name: b\n    endpoint: x\napi:\n  rate_limit: 0\ncollectors:\n  kafka_groups: {interval: 30s, max_age: 10s}\n";

    #[test]
    fn finds_nested_and_sequence_keys() {
        let keys = KeyLines::scan(DOC);
        assert_eq!(keys.position_of("regions[1].endpoint"), Some((5, 5)));
        assert_eq!(keys.position_of("regions[0].projects[0]"), Some((3, 5)));
        assert_eq!(keys.position_of("api.rate_limit"), Some((7, 3)));
        assert_eq!(
            keys.position_of("collectors.kafka_groups.max_age"),
            Some((9, 33))
        );
        assert_eq!(keys.position_of("missing.key"), None);
        assert_eq!(keys.path_at(5, 5), Some("regions[1].endpoint"));
        assert_eq!(keys.path_at(9, 3), Some("collectors.kafka_groups"));
        assert_eq!(keys.path_at(9, 33), Some("collectors.kafka_groups.max_age"));
    }

    #[test]
    fn a_colon_without_a_key_names_no_field() {
        let keys = KeyLines::scan(":\n: x\n");
        assert_eq!(keys.path_at(1, 1), None);
        assert_eq!(keys.path_at(2, 1), None);
    }
}
