//! Links libsonde from $SONDE_LIB_DIR, else the source tree's build/
//! directory: the shared libsonde.so by default, with that directory as
//! the rpath of this package's tests and examples (other binaries find it
//! through LD_LIBRARY_PATH or the system's search path once installed), so
//! that every language in a process shares one copy of sonde (issue
//! 13.17). The `static` feature (or SONDE_STATIC=1) links libsonde.a
//! instead, for a Rust program that is the only user of sonde in its
//! process; zlib is then linked when the archive references it. When a C
//! compiler is available, also
//! compiles tests/c/helper.c (C code using sonde's macros) into
//! libsonde_ctest.a for the polyglot integration test; without one, that
//! test is compiled out (cfg sonde_no_ctest).

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..");
    let lib_dir = env::var("SONDE_LIB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("build"));
    let include = env::var("SONDE_INCLUDE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("include"));
    println!("cargo:rerun-if-env-changed=SONDE_LIB_DIR");
    println!("cargo:rerun-if-env-changed=SONDE_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=SONDE_STATIC");
    let static_link = env::var_os("CARGO_FEATURE_STATIC").is_some()
        || env::var("SONDE_STATIC").map(|v| v == "1").unwrap_or(false);
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    if static_link {
        let archive = lib_dir.join("libsonde.a");
        println!("cargo:rerun-if-changed={}", archive.display());
        println!("cargo:rustc-link-lib=static=sonde");
        let needs_z = fs::read(&archive)
            .map(|b| b.windows(13).any(|w| w == b"deflateInit2_"))
            .unwrap_or(false);
        if needs_z {
            println!("cargo:rustc-link-lib=dylib=z");
        }
    } else {
        let shared = lib_dir.join("libsonde.so");
        println!("cargo:rerun-if-changed={}", shared.display());
        println!("cargo:rustc-link-lib=dylib=sonde");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=pthread");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-check-cfg=cfg(sonde_static)");
    if static_link {
        println!("cargo:rustc-cfg=sonde_static");
    }
    println!("cargo:rustc-check-cfg=cfg(sonde_no_ctest)");

    // The test helper (C code in the same process as the Rust tests).
    let helper = manifest.join("tests/c/helper.c");
    println!("cargo:rerun-if-changed={}", helper.display());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let obj = out.join("helper.o");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let ok = helper.exists()
        && Command::new(&cc)
            .args(["-std=c11", "-D_GNU_SOURCE", "-O2", "-fPIC", "-Wall", "-Werror", "-c"])
            .arg("-I")
            .arg(&include)
            .arg(&helper)
            .arg("-o")
            .arg(&obj)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        && Command::new("ar")
            .arg("rcs")
            .arg(out.join("libsonde_ctest.a"))
            .arg(&obj)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if ok {
        println!("cargo:rustc-link-search=native={}", out.display());
    } else {
        println!("cargo:warning=no C compiler: the polyglot test is compiled out");
        println!("cargo:rustc-cfg=sonde_no_ctest");
    }
}
