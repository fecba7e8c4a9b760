// A build script, so that the crate's dependencies are unified for build scripts and proc
// macros too (`cargo hakari` needs it).
fn main() {}
