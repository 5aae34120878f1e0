//! Reading the exporter's text exposition (0.0.4): the self-metric families the report needs,
//! and the identity (name and labels, as written) of every series for blink detection.

use std::collections::BTreeMap;

/// One sample of a family the report reads.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub(crate) fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// The samples of the families a scrape was asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Samples(pub Vec<Sample>);

impl Samples {
    /// Parses every sample whose metric name satisfies `wanted`; other lines are skipped
    /// without parsing their labels, so a million-series body stays cheap to read.
    pub(crate) fn parse(text: &str, wanted: impl Fn(&str) -> bool) -> Self {
        let samples = sample_lines(text)
            .filter_map(|line| {
                let (series, value) = split_series(line)?;
                let name = metric_name(series);
                if !wanted(name) {
                    return None;
                }
                Some(Sample {
                    name: name.to_owned(),
                    labels: parse_labels(&series[name.len()..])?,
                    value: parse_value(value)?,
                })
            })
            .collect();
        Self(samples)
    }

    pub(crate) fn family<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.0.iter().filter(move |s| s.name == name)
    }

    /// Sum of a family's samples whose labels match every `(label, value)` given.
    pub(crate) fn sum(&self, name: &str, matching: &[(&str, &str)]) -> f64 {
        self.family(name)
            .filter(|s| matching.iter().all(|(k, v)| s.label(k) == *v))
            .map(|s| s.value)
            .sum::<f64>()
            // An empty sum is -0.0; the report should not print "-0".
            + 0.0
    }

    /// A family's samples grouped by one label's value.
    pub(crate) fn by_label<'a>(
        &'a self,
        name: &'a str,
        label: &str,
    ) -> BTreeMap<String, Vec<&'a Sample>> {
        let mut groups: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
        for sample in self.family(name) {
            groups
                .entry(sample.label(label).to_owned())
                .or_default()
                .push(sample);
        }
        groups
    }
}

/// Lines holding a sample (comments, `# HELP`, `# TYPE` and blank lines skipped).
pub(crate) fn sample_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Splits `name{labels} value [timestamp]` into the series (`name{labels}`) and the value.
/// Label values may hold spaces and braces, so the closing brace is found outside quotes.
pub(crate) fn split_series(line: &str) -> Option<(&str, &str)> {
    let series_end = match (line.find('{'), line.find(' ')) {
        (Some(open), space) if space.is_none_or(|s| open < s) => {
            open + closing_brace(&line[open..])? + 1
        }
        (_, Some(space)) => space,
        _ => return None,
    };
    let value = line[series_end..].split_whitespace().next()?;
    Some((&line[..series_end], value))
}

fn closing_brace(labels: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in labels.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

/// The metric name of a series (`name` or `name{…}`).
pub(crate) fn metric_name(series: &str) -> &str {
    series.split('{').next().unwrap_or(series)
}

/// Parses `{a="x",b="y"}` (or nothing) into a map, undoing `\\`, `\"` and `\n`.
fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let Some(inner) = text.strip_prefix('{') else {
        return text.is_empty().then_some(labels);
    };
    let mut rest = inner.strip_suffix('}')?;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.is_empty() {
            return Some(labels);
        }
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        rest = &after[end + 1..];
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"# HELP dms_collector_cycle_api_calls API calls.
# TYPE dms_collector_cycle_api_calls gauge
dms_collector_cycle_api_calls{collector="kafka_groups",project_id="p1",region="r1"} 21
dms_collector_cycle_api_calls{collector="kafka_groups",project_id="p2",region="r1"} 4
dms_collector_cycle_api_calls{collector="tags",project_id="p1",region="r1"} 3
dms_api_requests_total{api="kafka_groups",code="429"} 2
dms_api_requests_total{api="kafka_groups",code="200"} 40
dms_kafka_topic_info{instance_id="i",topic="a b}c",note="say \"hi\"\\n"} 1
dms_exporter_build_info 1
dms_weird{le="+Inf"} +Inf 1700000000000
"#;

    fn all(text: &str) -> Samples {
        Samples::parse(text, |_| true)
    }

    #[test]
    fn sums_a_family_over_projects_and_by_label() {
        let samples = all(BODY);
        assert_eq!(samples.sum("dms_collector_cycle_api_calls", &[]), 28.0);
        assert_eq!(
            samples.sum(
                "dms_collector_cycle_api_calls",
                &[("collector", "kafka_groups")]
            ),
            25.0
        );
        assert_eq!(
            samples.sum("dms_api_requests_total", &[("code", "429")]),
            2.0
        );
        let groups = samples.by_label("dms_collector_cycle_api_calls", "collector");
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["kafka_groups", "tags"]);
        assert_eq!(groups["kafka_groups"].len(), 2);
        assert_eq!(
            samples
                .family("dms_collector_expected_cycle_seconds")
                .count(),
            0
        );
    }

    #[test]
    fn label_values_keep_spaces_braces_and_escapes() {
        let samples = all(BODY);
        let info = samples.family("dms_kafka_topic_info").next().unwrap();
        assert_eq!(info.label("topic"), "a b}c");
        assert_eq!(info.label("note"), "say \"hi\"\\n");
        let weird = samples.family("dms_weird").next().unwrap();
        assert_eq!(weird.value, f64::INFINITY);
        let plain = samples.family("dms_exporter_build_info").next().unwrap();
        assert!(plain.labels.is_empty());
        assert_eq!(plain.value, 1.0);
    }

    #[test]
    fn unwanted_families_are_not_parsed() {
        let samples = Samples::parse(BODY, |name| name.starts_with("dms_api_"));
        assert_eq!(samples.0.len(), 2);
    }

    #[test]
    fn splits_series_from_value() {
        assert_eq!(
            split_series(r#"a{x="1 2"} 3 1000"#),
            Some((r#"a{x="1 2"}"#, "3"))
        );
        assert_eq!(split_series("up 1"), Some(("up", "1")));
        assert_eq!(split_series("garbage"), None);
        assert_eq!(split_series(r#"a{x="unterminated} 1"#), None);
    }
}
