//! The attest crate's integration tests: verification end to end over data, properties of
//! the envelope format, and independent verifiers (ignored unless their tools are present).

mod fixture;
mod independent;
mod interop;
mod properties;
mod provenance;
mod verification;
