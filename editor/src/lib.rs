//! duet's terminal editor, in the Elm architecture: key, mouse, network and timer events
//! become one [`msg::Msg`]; [`update::update`] changes the [`model::Model`] and returns
//! [`msg::Effect`]s for the runtime (`app`); [`view::view`] draws the model.
#![deny(missing_docs)]

pub mod app;
pub mod away;
pub mod blame;
pub mod buffers;
pub mod commands;
pub mod config;
pub mod edit;
mod find;
mod follow;
pub mod highlight;
pub mod history;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod msg;
pub mod past;
pub mod picker;
pub mod search;
pub mod settings;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod undo;
pub mod update;
pub mod view;
pub mod workspace;
