//! The sans-IO execution engine. (OWNER: the lead; being written)

pub mod driver;
