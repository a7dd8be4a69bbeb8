pub mod config;
pub mod domain;
pub mod parse;
pub mod store;
pub mod text;
pub mod hygiene;
pub mod thread;
pub mod templates;
