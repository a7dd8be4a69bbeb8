pub mod mailservers;
