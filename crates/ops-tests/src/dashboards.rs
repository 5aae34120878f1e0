//! Dashboards: reading `dashboards/*.json` (being written).
