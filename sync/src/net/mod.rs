//! The iroh/tokio driver: endpoint setup and framing (the actor that runs the protocol lands
//! with the protocol).

pub mod endpoint;
pub mod frame;

pub use endpoint::{EndpointError, NetConfig};
