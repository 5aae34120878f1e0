//! Integration tests of the simulator: one test binary, one module per concern.

mod auth;
mod behaviour;
mod behaviour_rabbitmq;
mod ces;
mod common;
mod control;
mod fidelity;
mod fidelity_ces;
mod fidelity_rabbitmq;
mod fidelity_rocketmq;
mod gateway;
mod rabbitmq_depth;
mod temporary;
