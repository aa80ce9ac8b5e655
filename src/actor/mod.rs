//! The actor side: state machine, supervisor contract and [`ComponentActor`].

pub(crate) mod child;
pub(crate) mod component_actor;
pub(crate) mod state;
