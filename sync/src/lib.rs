//! duet's sync layer: the peer protocol ([`proto`], sans-IO), its transport ([`net`], iroh),
//! the local op store ([`store`]), a shared folder's file tree ([`folder`]), and the
//! [`session`] that drives them for the loop that owns the documents, and the [`share`] of a
//! whole folder.
#![deny(missing_docs)]

pub mod folder;
pub mod identity;
pub mod ids;
pub mod net;
pub mod proto;
pub mod session;
pub mod share;
pub mod store;
pub mod ticket;

pub use ids::{DocId, DocSecret, PeerId};
pub use net::endpoint::error_chain;
pub use session::{Event, Network, Opened, PeerView, Session, SessionConfig, SyncError, Wake};
