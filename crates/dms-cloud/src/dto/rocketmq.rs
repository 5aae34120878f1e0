//! RocketMQ response DTOs (`fixtures/api/rocketmq`).
