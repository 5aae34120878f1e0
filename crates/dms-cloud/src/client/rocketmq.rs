//! RocketMQ endpoints.
