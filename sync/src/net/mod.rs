//! The iroh/tokio driver: endpoint setup, framing, connection tasks, the store thread and the
//! actor that runs the protocol ([`crate::proto::Peer`]) against them.

pub(crate) mod actor;
mod conn;
pub mod endpoint;
pub mod frame;
pub(crate) mod store_worker;
pub(crate) mod ticket_file;

pub use endpoint::{EndpointError, NetConfig};
