//! The exporter's integration tests, one binary: the simulator on port 0 (or in-process under
//! paused time), the exporter against it.

mod cli;
mod config_fixtures;
mod consumer_health;
mod docs;
mod fleet_scale;
mod golden;
mod rabbitmq;
mod registry;
mod reload;
mod rocketmq;
mod rocketmq_status;
mod scheduler;
mod sharding;
mod support;
mod web;
