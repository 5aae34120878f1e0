//! Reading a state file as it is parsed: each history goes into [`RestoredHistories`] as soon
//! as its closing bracket is read, so neither the file's text nor a list of every history is
//! ever whole in memory.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::VERSION;
use crate::collect::health::{RestoredHistories, SavedHistory};

/// Reads the file's top level, handing each history to `restored` as it is parsed; gives the
/// version found. A later version's histories may differ, so they are skipped.
pub(super) struct FileSeed<'a> {
    pub restored: &'a mut RestoredHistories,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Option<u32>;

    fn deserialize<D: Deserializer<'de>>(self, input: D) -> Result<Self::Value, D::Error> {
        input.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Option<u32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with version and log_end_histories")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut version = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => version = Some(map.next_value::<u32>()?),
                "log_end_histories" if version.is_none_or(|v| v == VERSION) => {
                    map.next_value_seed(Histories {
                        restored: &mut *self.restored,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(version)
    }
}

/// The histories' array, each element restored as soon as it is parsed.
struct Histories<'a> {
    restored: &'a mut RestoredHistories,
}

impl<'de> DeserializeSeed<'de> for Histories<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, input: D) -> Result<(), D::Error> {
        input.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Histories<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of log end histories")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(saved) = seq.next_element::<SavedHistory>()? {
            self.restored.add(saved);
        }
        Ok(())
    }
}
