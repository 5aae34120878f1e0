//! RabbitMQ collectors, one API area per file.

pub mod plugins;
pub mod queues;
pub mod users;
