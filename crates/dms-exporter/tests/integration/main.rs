//! The exporter's integration tests, one binary: the simulator on port 0 (or in-process under
//! paused time), the exporter against it.

mod accounts;
mod cardinality;
mod ces;
mod cli;
mod config_fixtures;
mod config_properties;
mod consumer_health;
mod docs;
mod fault_matrix;
mod fleet_scale;
mod golden;
mod http_server;
mod instance_filters;
mod isolation;
mod lag_seconds_values;
mod logs;
mod long_faults;
mod preflight;
mod rabbitmq;
mod rabbitmq_queues;
mod registry;
mod reload;
mod rocketmq;
mod rocketmq_status;
mod scheduler;
mod sharding;
mod soak;
mod state_file;
mod support;
mod temporary_credentials;
mod web;
