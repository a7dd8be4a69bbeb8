pub mod domain;
pub mod imap;
pub mod smtp;
