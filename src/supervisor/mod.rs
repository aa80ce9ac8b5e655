//! Supervision: OTP's supervisor contract for component actors.
//!
//! - [`spec`]: what a tree is made of (child specs, restart types,
//!   shutdown, strategies, intensity), with OTP's defaults.
//! - [`rules`]: OTP's decisions as pure functions.
//! - [`tree`]: the running tree, one task per supervisor.
//! - [`file`]: a tree declared in a TOML file.

pub(crate) mod file;
pub(crate) mod rules;
pub(crate) mod spec;
pub(crate) mod tree;
