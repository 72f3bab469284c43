//! Links libsonde statically: $SONDE_LIB_DIR (a directory holding
//! libsonde.a), else the source tree's build/ directory. zlib is linked
//! when the archive references it. When a C compiler is available, also
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
    let archive = lib_dir.join("libsonde.a");
    println!("cargo:rerun-if-changed={}", archive.display());
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=static=sonde");
    println!("cargo:rustc-link-lib=dylib=pthread");
    println!("cargo:rustc-link-lib=dylib=m");
    let needs_z = fs::read(&archive)
        .map(|b| b.windows(13).any(|w| w == b"deflateInit2_"))
        .unwrap_or(false);
    if needs_z {
        println!("cargo:rustc-link-lib=dylib=z");
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
