//! The stepper function: its binary through a Lambda Runtime API emulator, and the AWS calls it makes per execution, on moto.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod map_writes;
mod stepper_binary;
mod stepper_on_moto;
