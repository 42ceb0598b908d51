//! duet's sync layer: the peer protocol, its iroh driver and the local op store.
#![deny(missing_docs)]

pub mod api;
pub mod identity;
pub mod ids;
pub mod net;
pub mod proto;
pub mod store;
pub mod ticket;
