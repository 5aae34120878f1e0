//! RocketMQ collectors, one API area per file.
