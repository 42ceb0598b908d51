//! The `duet` binary.
fn main() {
    println!("duet {}", env!("CARGO_PKG_VERSION"));
}
