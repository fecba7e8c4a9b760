//! The workspace's unified dependency features (`cargo hakari`): every member depends on this
//! crate, so every command builds Burn and its backends with one feature set. It has no code.
