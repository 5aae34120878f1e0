//! RabbitMQ collectors, one API area per file.
