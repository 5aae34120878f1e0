//! RabbitMQ endpoints.
