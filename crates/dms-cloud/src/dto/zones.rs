//! Availability zones, shared by the engines: V2 `GET /v2/available-zones` and V1
//! `GET /v1.0/availableZones` (which spells the region `regionId`).

use serde::Deserialize;

use super::lenient;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AvailableZones {
    #[serde(default, alias = "regionId", deserialize_with = "lenient::string")]
    pub region_id: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub available_zones: Vec<AvailableZone>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AvailableZone {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// A numeric string in the API (`"8003"`).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub port: Option<u64>,
    /// A boolean as a string (`"true"`).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub resource_availability: Option<bool>,
    #[serde(rename = "soldOut", default, deserialize_with = "lenient::opt_bool")]
    pub sold_out: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub default_az: Option<bool>,
    /// The documented example is 9223372036854776000 (Java `Long.MAX_VALUE` through a
    /// double), beyond `i64::MAX`: read as `u64`, never `i64`.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub remain_time: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ipv6_enable: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remain_time_beyond_i64_parses() {
        let zones: AvailableZones = serde_json::from_str(
            r#"{"region_id":"r","available_zones":[{"id":"a","remain_time":9223372036854776000,"port":"8003","resource_availability":"false","soldOut":true}]}"#,
        )
        .unwrap_or_default();
        let zone = &zones.available_zones[0];
        assert_eq!(zone.remain_time, Some(9_223_372_036_854_776_000));
        assert!(zone.remain_time > Some(i64::MAX as u64));
        assert_eq!(zone.port, Some(8003));
        assert_eq!(zone.resource_availability, Some(false));
        assert_eq!(zone.sold_out, Some(true));
    }
}
