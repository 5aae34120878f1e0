//! Deterministic names and ids for generated fleets (every engine).

const INSTANCE_NAMES: &[&str] = &[
    "orders",
    "payments",
    "telemetry",
    "audit",
    "clickstream",
    "billing",
    "inventory",
    "search",
];
/// The name of the `index`-th instance of an engine, e.g. `kafka-orders-01`.
pub(crate) fn instance_name(engine: &str, index: usize) -> String {
    format!(
        "{engine}-{}-{:02}",
        INSTANCE_NAMES[index % INSTANCE_NAMES.len()],
        index + 1
    )
}

/// `n` lower-case hex digits.
pub(crate) fn hex_id(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(crate) fn uuid(rng: &mut fastrand::Rng) -> String {
    let h = hex_id(rng, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
