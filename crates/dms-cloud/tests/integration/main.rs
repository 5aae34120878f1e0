//! dms-cloud's integration tests, one binary: the client against scripted servers and the
//! simulator in-process (under paused time), and the DTOs against every documented example.

mod agency;
mod ces;
mod client;
mod dto_properties;
mod fixtures;
mod fixtures_rocketmq;
mod iam;
mod rabbitmq;
mod sim;
mod support;
mod temporary;
