//! The actor side: state machine, supervisor contract, [`ComponentActor`]
//! and its mailbox.

pub(crate) mod child;
pub(crate) mod component_actor;
pub(crate) mod mailbox;
pub(crate) mod recipe;
pub(crate) mod state;
