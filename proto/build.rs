//! Generates the prost types from `pivot/debug/v1/*.proto` with protox, a pure-Rust
//! protobuf compiler, so the build needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["pivot/debug/v1/event.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["."])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
