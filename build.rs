//! Generates `include/mtmsg.h` from the C ABI in `src/ffi` with cbindgen
//! and fails the build when the committed header differs from it, so the
//! header can never drift from the library. `MTMSG_UPDATE_HEADER=1`
//! (`make header`) writes the new header instead.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("include/mtmsg.h");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/mtmsg.h");
    println!("cargo:rerun-if-env-changed=MTMSG_UPDATE_HEADER");
    // `--cfg mtmsg_valgrind`: the locks annotate themselves for drd
    // (src/sync/valgrind.rs). `--cfg mtmsg_portable`: the futex-free wait
    // of other systems, on Linux too (src/sys/). `--cfg loom`: the core on
    // loom's primitives, for its model checks (src/primitive.rs).
    println!("cargo::rustc-check-cfg=cfg(mtmsg_valgrind)");
    println!("cargo::rustc-check-cfg=cfg(mtmsg_portable)");
    println!("cargo::rustc-check-cfg=cfg(loom)");
    // One libmtmsg per process: the Lua module and a C host that both link
    // it find the same file by this name, and so share one registry.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmtmsg.so.0");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    let committed = fs::read(&header).unwrap_or_default();
    if committed == generated {
        return;
    }
    if env::var_os("MTMSG_UPDATE_HEADER").is_some_and(|v| v == "1") {
        fs::write(&header, &generated).expect("cannot write include/mtmsg.h");
    } else {
        let fresh = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("mtmsg.h");
        fs::write(&fresh, &generated).expect("cannot write the fresh header");
        panic!(
            "include/mtmsg.h is out of date with src/ffi (fresh one: {}); run `make header` and commit it",
            fresh.display()
        );
    }
}
