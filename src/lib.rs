pub mod calendar;
pub mod domain;
