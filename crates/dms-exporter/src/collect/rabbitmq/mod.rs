//! RabbitMQ collectors, one API area per file.

pub mod plugins;
