//! Alert rules: reading `alerts/*.yml` (being written).
