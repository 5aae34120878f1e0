//! Cloud Eye (CES) shapes: an instance's monitoring dimensions (DMS `ces-hierarchy`, all three
//! engines) and CES v1's batch query of metric data (`BatchListMetricData`), from the official
//! SDK models (`huaweicloudsdkces` v1; `show_ces_hierarchy` of the kafka, rocketmq and rabbitmq
//! SDKs).

use serde::{Deserialize, Serialize};

use super::lenient;

/// `GET /v2/{project_id}/instances/{instance_id}/ces-hierarchy`: the dimension levels CES
/// knows for the instance, and the lists their values come from. The lists differ by engine
/// (Kafka `nodes`, `queues` (topics) with `partitions`, `groups`; RocketMQ `topics`, `dlq`,
/// `groups` with `topics`; RabbitMQ `queues` and `exchanges` with `vhost`, `vhosts`), so they
/// are kept as JSON and walked by a level's `key_name`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CesHierarchy {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub dimensions: Vec<CesDimension>,
    /// Every other field: the named lists (`instance_ids`, `nodes`, `queues`, …).
    #[serde(flatten)]
    pub lists: serde_json::Map<String, serde_json::Value>,
}

/// One dimension level: its metrics, the CES dimension names in order (`dim_router`) and the
/// lists that supply their values (`key_name`), with finer levels as `children` (Kafka's
/// partitions under topics).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CesDimension {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub metrics: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub key_name: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub dim_router: Vec<String>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub children: Vec<CesDimension>,
}

/// One dimension of a CES series: `{"name": "kafka_broker", "value": "broker-0"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricDimension {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub value: String,
}

/// One series to read: `MetricInfo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricInfo {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<MetricDimension>,
}

/// The body of `POST /V1.0/{project_id}/batch-query-metric-data`. `period` is a string in the
/// API (`"1"` raw, `"300"`, …); `from` and `to` are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchQuery {
    pub metrics: Vec<MetricInfo>,
    pub period: String,
    pub filter: String,
    pub from: i64,
    pub to: i64,
}

/// The answer: one entry per series asked for that CES knows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BatchMetricData {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub metrics: Vec<SeriesData>,
}

/// One series' points (`BatchMetricData`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SeriesData {
    #[serde(default, deserialize_with = "lenient::string")]
    pub namespace: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub metric_name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub dimensions: Vec<MetricDimension>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub datapoints: Vec<Datapoint>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub unit: String,
}

/// One point (`DatapointForBatchMetric`): only the statistic asked for is meaningful.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Datapoint {
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub average: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub max: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub min: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub sum: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub variance: Option<f64>,
    /// Epoch milliseconds of the start of the point's period.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub timestamp: Option<i64>,
}

impl Datapoint {
    /// The value of statistic `filter` (`average`, `max`, `min`, `sum`, `variance`).
    pub fn value(&self, filter: &str) -> Option<f64> {
        match filter {
            "max" => self.max,
            "min" => self.min,
            "sum" => self.sum,
            "variance" => self.variance,
            _ => self.average,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_kafka_hierarchy_parses_with_its_levels_and_lists() {
        let text = include_str!("../../../../fixtures/api/kafka/R26_ces_hierarchy.json");
        let hierarchy: CesHierarchy = serde_json::from_str(text).unwrap_or_default();
        let names: Vec<&str> = hierarchy
            .dimensions
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "kafka_instance_id",
                "kafka_broker",
                "kafka_rest",
                "kafka_topics",
                "kafka_groups_partitions"
            ]
        );
        let topics = &hierarchy.dimensions[3];
        assert_eq!(topics.dim_router, ["kafka_instance_id", "kafka_topics"]);
        assert_eq!(topics.children[0].key_name, ["queues", "partitions"]);
        assert!(hierarchy.lists.contains_key("nodes"));
        assert!(hierarchy.lists.contains_key("groups"));
    }

    #[test]
    fn batch_answers_parse_leniently_and_give_the_asked_statistic() {
        let answer: BatchMetricData = serde_json::from_str(
            r#"{"metrics":[{"namespace":"SYS.DMS","metric_name":"broker_cpu_usage","unit":"%",
                "dimensions":[{"name":"kafka_instance_id","value":"i-1"},{"name":"kafka_broker","value":"broker-0"}],
                "datapoints":[{"average":"12.5","timestamp":1735689060000},{"max":40,"timestamp":"1735689120000"}]},
               {"namespace":"SYS.DMS","metric_name":"broker_alive","dimensions":null,"datapoints":null}]}"#,
        )
        .unwrap_or_default();
        assert_eq!(answer.metrics.len(), 2);
        let points = &answer.metrics[0].datapoints;
        assert_eq!(points[0].value("average"), Some(12.5));
        assert_eq!(points[1].value("average"), None);
        assert_eq!(points[1].value("max"), Some(40.0));
        assert_eq!(points[1].timestamp, Some(1_735_689_120_000));
        assert!(answer.metrics[1].datapoints.is_empty());
    }

    #[test]
    fn a_batch_query_serialises_as_the_sdk_sends_it() {
        let query = BatchQuery {
            metrics: vec![MetricInfo {
                namespace: "SYS.DMS".into(),
                metric_name: "broker_bytes_in_rate".into(),
                dimensions: vec![MetricDimension {
                    name: "kafka_instance_id".into(),
                    value: "i-1".into(),
                }],
            }],
            period: "1".into(),
            filter: "average".into(),
            from: 1,
            to: 2,
        };
        let json = serde_json::to_value(&query).unwrap_or_default();
        assert_eq!(json["period"], "1");
        assert_eq!(
            json["metrics"][0]["dimensions"][0]["name"],
            "kafka_instance_id"
        );
        assert_eq!(json["from"], 1);
    }
}
