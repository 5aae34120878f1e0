//! DMS simulator.
