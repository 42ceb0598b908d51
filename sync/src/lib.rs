//! duet's sync layer: the peer protocol, its iroh driver and the local op store.
#![deny(missing_docs)]

pub mod ids;
pub mod store;
pub mod identity;
pub mod net;
pub mod ticket;
pub mod api;
pub mod proto;
