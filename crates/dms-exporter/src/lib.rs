//! dms_exporter.
