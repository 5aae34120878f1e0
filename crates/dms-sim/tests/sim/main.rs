//! Integration tests of the simulator: one test binary, one module per concern.

mod auth;
mod behaviour;
mod common;
mod control;
mod fidelity;
mod fidelity_rocketmq;
