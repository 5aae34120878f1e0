//! RabbitMQ response DTOs (`fixtures/api/rabbitmq`).
