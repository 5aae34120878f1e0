//! Lenient field deserializers: the DMS API sends numbers as strings (`"300"`), booleans as
//! strings (`"false"`), `null` where a value is documented, and size strings such as `"66G"`.
//!
//! Every helper maps a value it cannot interpret to `None`/default instead of failing the whole
//! response: one odd field must not hide the rest of an instance.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any JSON value, with containers reduced to their scalar content where that makes sense.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    Seq(Vec<Scalar>),
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
        Ok(Scalar::F64(v as f64))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
        Ok(Scalar::F64(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ScalarSeed)? {
            items.push(item);
        }
        Ok(Scalar::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

struct ScalarSeed;

impl<'de> de::DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

fn to_f64(value: &Scalar) -> Option<f64> {
    match value {
        Scalar::I64(v) => Some(*v as f64),
        Scalar::U64(v) => Some(*v as f64),
        Scalar::F64(v) if v.is_finite() => Some(*v),
        Scalar::Str(s) => s
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite()),
        _ => None,
    }
}

fn to_i64(value: &Scalar) -> Option<i64> {
    match value {
        Scalar::I64(v) => Some(*v),
        Scalar::U64(v) => i64::try_from(*v).ok(),
        Scalar::F64(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => Some(*v as i64),
        Scalar::Str(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| to_i64(&Scalar::F64(s.parse::<f64>().ok()?)))
        }
        _ => None,
    }
}

fn to_u64(value: &Scalar) -> Option<u64> {
    match value {
        Scalar::U64(v) => Some(*v),
        Scalar::I64(v) => u64::try_from(*v).ok(),
        Scalar::F64(v) if v.fract() == 0.0 && *v >= 0.0 && *v < 1.8e19 => Some(*v as u64),
        Scalar::Str(s) => {
            let s = s.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| to_u64(&Scalar::F64(s.parse::<f64>().ok()?)))
        }
        _ => None,
    }
}

fn to_bool(value: &Scalar) -> Option<bool> {
    match value {
        Scalar::Bool(b) => Some(*b),
        Scalar::I64(v) => Some(*v != 0),
        Scalar::U64(v) => Some(*v != 0),
        Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_string(value: Scalar) -> Option<String> {
    match value {
        Scalar::Str(s) => Some(s),
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::I64(v) => Some(v.to_string()),
        Scalar::U64(v) => Some(v.to_string()),
        Scalar::F64(v) => Some(v.to_string()),
        _ => None,
    }
}

/// Number or numeric string → `i64`; null, empty or unparseable → `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(to_i64(&scalar(d)?))
}

/// Number or numeric string → `u64`; null, negative or unparseable → `None`.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(to_u64(&scalar(d)?))
}

/// Number or numeric string → `u64`, defaulting to 0.
pub fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(to_u64(&scalar(d)?).unwrap_or(0))
}

/// Number (any size, e.g. `remain_time` beyond `i64`) or numeric string → `f64`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(to_f64(&scalar(d)?))
}

/// `true`/`false`, `"true"`/`"false"` (any case), 0/1 → `bool`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(to_bool(&scalar(d)?))
}

/// Epoch milliseconds as a number or a string (`"1568797295209"`).
pub fn opt_epoch_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    opt_i64(d)
}

/// A string; numbers and booleans are rendered, null/objects/arrays become `""`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(to_string(scalar(d)?).unwrap_or_default())
}

/// A comma-separated string or an array of strings → `Vec<String>` (null → empty).
pub fn string_or_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Seq(items) => items.into_iter().filter_map(to_string).collect(),
        Scalar::Str(s) => s
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    })
}

/// `null` (or a missing field, with `#[serde(default)]`) → `T::default()`.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses a `df -h`-style size (`"66G"`, `"53M"`, `"8.0K"`, `"1.5T"`, `"512"`, `"512B"`,
/// `"0"`, `"1.2GB"`, `"3 GiB"`) into bytes, with powers of 1024.
pub fn parse_size_bytes(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B').filter(|u| !u.is_empty()))
        .unwrap_or(&unit);
    let power = match unit {
        "" | "B" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        _ => return None,
    };
    Some(value * 1024f64.powi(power))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, Default)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_u64")]
        u: Option<u64>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "string")]
        s: String,
        #[serde(default, deserialize_with = "string_or_seq")]
        v: Vec<String>,
        #[serde(default, deserialize_with = "null_default")]
        n: Vec<u8>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn numbers_as_strings_and_nulls() {
        let p = probe(r#"{"i":"300","u":"4","f":"1.5","b":"false","s":7,"v":"a, b,,c","n":null}"#);
        assert_eq!(
            (p.i, p.u, p.f, p.b),
            (Some(300), Some(4), Some(1.5), Some(false))
        );
        assert_eq!(p.s, "7");
        assert_eq!(p.v, ["a", "b", "c"]);
        assert!(p.n.is_empty());
        let p =
            probe(r#"{"i":null,"u":-1,"f":18446744073709551616000,"b":"TRUE","s":null,"v":["x"]}"#);
        assert_eq!((p.i, p.u, p.b), (None, None, Some(true)));
        assert!(p.f.is_some_and(|f| f > 1e22));
        assert_eq!(p.s, "");
        assert_eq!(p.v, ["x"]);
        let p = probe(r#"{"i":"abc","u":{"x":1},"f":[1],"b":"maybe"}"#);
        assert_eq!((p.i, p.u, p.f, p.b), (None, None, None, None));
        let p = probe(r#"{"i":2.0,"u":"7.0"}"#);
        assert_eq!((p.i, p.u), (Some(2), Some(7)));
    }

    #[test]
    fn size_strings() {
        const K: f64 = 1024.0;
        assert_eq!(parse_size_bytes("66G"), Some(66.0 * K * K * K));
        assert_eq!(parse_size_bytes("53M"), Some(53.0 * K * K));
        assert_eq!(parse_size_bytes("8.0K"), Some(8192.0));
        assert_eq!(parse_size_bytes("12K"), Some(12.0 * K));
        assert_eq!(parse_size_bytes("0"), Some(0.0));
        assert_eq!(parse_size_bytes("1.5T"), Some(1.5 * K * K * K * K));
        assert_eq!(parse_size_bytes("512"), Some(512.0));
        assert_eq!(parse_size_bytes("512B"), Some(512.0));
        assert_eq!(parse_size_bytes("1GB"), Some(K * K * K));
        assert_eq!(parse_size_bytes("3 GiB"), Some(3.0 * K * K * K));
        assert_eq!(parse_size_bytes("2k"), Some(2.0 * K));
        assert_eq!(parse_size_bytes(""), None);
        assert_eq!(parse_size_bytes("G"), None);
        assert_eq!(parse_size_bytes("12X"), None);
        assert_eq!(parse_size_bytes("-1G"), None);
    }
}
