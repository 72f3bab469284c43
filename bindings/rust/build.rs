//! Finds libsonde, in this order, and links it:
//!
//! 1. `$SONDE_LIB_DIR`, when set: the directory holding libsonde.so (or
//!    libsonde.a), e.g. the source tree's build/ after `make`;
//! 2. pkg-config (`sonde.pc`, from `make install`; `PKG_CONFIG_PATH` for a
//!    prefix outside the default search);
//! 3. a build from the C sources of this checkout (`../../lib`) with the
//!    system C compiler (`$CC`, else cc) into OUT_DIR, no crates needed,
//!    so a path dependency works on a fresh clone with
//!    `cargo build --offline`.
//!
//! When none works, the build fails with one message naming all three and
//! why each failed. The shared libsonde.so is linked by default, so that
//! every language in a process shares one copy of sonde (issue 13.17); the
//! `static` feature (or SONDE_STATIC=1) links libsonde.a instead, for a
//! Rust program that is the only user of sonde in its process, with zlib
//! when the archive references it. The library's directory is the rpath of
//! this package's own tests and examples; `cargo run` of a dependent finds
//! a libsonde.so built into OUT_DIR by itself; other binaries need an
//! installed library (or LD_LIBRARY_PATH).
//!
//! When a C compiler is available, also compiles tests/c/helper.c (C code
//! using sonde's macros) into libsonde_ctest.a for the polyglot
//! integration test; without one, that test is compiled out (cfg
//! sonde_no_ctest).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Found {
    lib_dir: PathBuf,
    include: PathBuf,
    /// extra libraries a static link needs (zlib)
    static_libs: Vec<String>,
}

fn cc() -> String {
    env::var("CC").unwrap_or_else(|_| "cc".into())
}

fn from_env(static_link: bool, root: &Path) -> Option<Result<Found, String>> {
    let dir = PathBuf::from(env::var_os("SONDE_LIB_DIR")?);
    let file = dir.join(if static_link { "libsonde.a" } else { "libsonde.so" });
    if !file.exists() {
        return Some(Err(format!("SONDE_LIB_DIR={}: no {}", dir.display(), file.display())));
    }
    let include = env::var_os("SONDE_INCLUDE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("include"));
    let needs_z = static_link
        && fs::read(&file)
            .map(|b| b.windows(13).any(|w| w == b"deflateInit2_"))
            .unwrap_or(false);
    Some(Ok(Found {
        lib_dir: dir,
        include,
        static_libs: if needs_z { vec!["z".into()] } else { vec![] },
    }))
}

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let pc = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(&pc)
        .args(args)
        .arg("sonde")
        .output()
        .map_err(|e| format!("{} not runnable: {}", pc, e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().replace('\n', " ");
        return Err(if msg.is_empty() { "sonde.pc not found".into() } else { msg });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn from_pkg_config(static_link: bool) -> Result<Found, String> {
    let lib_dir = PathBuf::from(pkg_config(&["--variable=libdir"])?);
    let include = PathBuf::from(pkg_config(&["--variable=includedir"])?);
    let file = lib_dir.join(if static_link { "libsonde.a" } else { "libsonde.so" });
    if !file.exists() {
        return Err(format!("sonde.pc names {}, which does not exist", file.display()));
    }
    let mut static_libs = Vec::new();
    if static_link {
        for l in pkg_config(&["--static", "--libs-only-l"])?.split_whitespace() {
            if let Some(name) = l.strip_prefix("-l") {
                if name != "sonde" && name != "pthread" && name != "m" {
                    static_libs.push(name.to_string());
                }
            }
        }
    }
    Ok(Found { lib_dir, include, static_libs })
}

/// Runs the commands at most `jobs` at a time; the first failure is the error.
fn run_all(cmds: Vec<Command>, jobs: usize) -> Result<(), String> {
    let mut running: Vec<(Child, String)> = Vec::new();
    let wait_one = |running: &mut Vec<(Child, String)>| -> Result<(), String> {
        let (child, what) = running.remove(0);
        let out = child.wait_with_output().map_err(|e| format!("{}: {}", what, e))?;
        if !out.status.success() {
            return Err(format!("{} failed:\n{}", what, String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    };
    for mut c in cmds {
        if running.len() >= jobs {
            wait_one(&mut running)?;
        }
        let what = format!("{:?}", c);
        let child = c
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run the C compiler ({}): {}", cc(), e))?;
        running.push((child, what));
    }
    while !running.is_empty() {
        wait_one(&mut running)?;
    }
    Ok(())
}

fn status_ok(c: &mut Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn from_sources(static_link: bool, root: &Path, out: &Path) -> Result<Found, String> {
    let lib = root.join("lib");
    let include = root.join("include");
    let map = lib.join("api/sonde.map");
    if !map.exists() || !include.join("sonde.h").exists() {
        return Err(format!("no C sources at {} (a crate outside the sonde tree)", lib.display()));
    }
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rerun-if-changed={}", include.display());
    let mut sources = Vec::new();
    for layer in fs::read_dir(&lib).map_err(|e| format!("{}: {}", lib.display(), e))? {
        let layer = layer.map_err(|e| e.to_string())?.path();
        if !layer.is_dir() {
            continue;
        }
        for f in fs::read_dir(&layer).map_err(|e| e.to_string())? {
            let f = f.map_err(|e| e.to_string())?.path();
            if f.extension().map(|e| e == "c").unwrap_or(false) {
                sources.push(f);
            }
        }
    }
    sources.sort();
    let build = out.join("libsonde-build");
    fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    // zlib, as the Makefile decides it: on when a program using it links
    let probe = build.join("zprobe.c");
    fs::write(&probe, "#include <zlib.h>\nint main(void){return zlibVersion() == 0;}\n")
        .map_err(|e| e.to_string())?;
    let zlib = status_ok(Command::new(cc()).arg(&probe).arg("-lz").arg("-o").arg(build.join("zprobe")));
    let mut cmds = Vec::new();
    let mut objs = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let obj = build.join(format!("{}-{}.o", i, s.file_stem().unwrap().to_string_lossy()));
        let mut c = Command::new(cc());
        c.args(["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-fPIC", "-fvisibility=hidden"])
            .args(["-DSONDE_BUILDING", "-c"])
            .arg("-I")
            .arg(&include)
            .arg("-I")
            .arg(&lib);
        if zlib {
            c.arg("-DSONDE_HAVE_ZLIB=1");
        }
        c.arg(s).arg("-o").arg(&obj);
        cmds.push(c);
        objs.push(obj);
    }
    let jobs = env::var("NUM_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(2).max(1);
    run_all(cmds, jobs)?;
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let major = version.split('.').next().unwrap().to_string();
    let lib_dir = out.join("libsonde");
    fs::create_dir_all(&lib_dir).map_err(|e| e.to_string())?;
    if static_link {
        let all = build.join("sonde-all.o");
        let mut link = Command::new(cc());
        link.args(["-r", "-nostdlib", "-o"]).arg(&all).args(&objs);
        let mut ar = Command::new("ar");
        let a = lib_dir.join("libsonde.a");
        let _ = fs::remove_file(&a);
        ar.arg("rcs").arg(&a).arg(&all);
        run_all(vec![link], 1)?;
        run_all(vec![ar], 1)?;
    } else {
        let real = format!("libsonde.so.{}", version);
        let mut link = Command::new(cc());
        link.arg("-shared")
            .arg(format!("-Wl,-soname,libsonde.so.{}", major))
            .arg(format!("-Wl,--version-script={}", map.display()))
            .arg("-Wl,--no-undefined")
            .arg("-o")
            .arg(lib_dir.join(&real))
            .args(&objs)
            .arg("-lpthread");
        if zlib {
            link.arg("-lz");
        }
        run_all(vec![link], 1)?;
        for name in [format!("libsonde.so.{}", major), "libsonde.so".to_string()] {
            let p = lib_dir.join(&name);
            let _ = fs::remove_file(&p);
            std::os::unix::fs::symlink(&real, &p).map_err(|e| e.to_string())?;
        }
    }
    Ok(Found {
        lib_dir,
        include,
        static_libs: if zlib { vec!["z".into()] } else { vec![] },
    })
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    for v in ["SONDE_LIB_DIR", "SONDE_INCLUDE_DIR", "SONDE_STATIC", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "CC"] {
        println!("cargo:rerun-if-env-changed={}", v);
    }
    let static_link = env::var_os("CARGO_FEATURE_STATIC").is_some()
        || env::var("SONDE_STATIC").map(|v| v == "1").unwrap_or(false);

    let found = match from_env(static_link, &root) {
        Some(Ok(f)) => f,
        Some(Err(e)) => panic!("\nsonde: {}\n(unset SONDE_LIB_DIR to use pkg-config or the C sources)\n", e),
        None => match from_pkg_config(static_link) {
            Ok(f) => f,
            Err(pc_err) => match from_sources(static_link, &root, &out) {
                Ok(f) => f,
                Err(src_err) => panic!(
                    "\nsonde: libsonde not found. Tried, in order:\n\
                     \x20 1. SONDE_LIB_DIR: not set (the directory holding libsonde.so, e.g. sonde's build/ after `make`);\n\
                     \x20 2. pkg-config sonde: {} (after `make install PREFIX=...`, set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig);\n\
                     \x20 3. a build from the C sources at {}: {} (needs a C compiler: set CC or install cc).\n",
                    pc_err,
                    root.join("lib").display(),
                    src_err.trim_end()
                ),
            },
        },
    };

    println!("cargo:rustc-link-search=native={}", found.lib_dir.display());
    if static_link {
        println!("cargo:rerun-if-changed={}", found.lib_dir.join("libsonde.a").display());
        println!("cargo:rustc-link-lib=static=sonde");
        for l in &found.static_libs {
            println!("cargo:rustc-link-lib=dylib={}", l);
        }
        println!("cargo:rustc-cfg=sonde_static");
    } else {
        println!("cargo:rerun-if-changed={}", found.lib_dir.join("libsonde.so").display());
        println!("cargo:rustc-link-lib=dylib=sonde");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", found.lib_dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=pthread");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-check-cfg=cfg(sonde_static)");
    println!("cargo:rustc-check-cfg=cfg(sonde_no_ctest)");
    // for crates that build C code against sonde (DEP_SONDE_INCLUDE)
    println!("cargo:include={}", found.include.display());

    // The test helper (C code in the same process as the Rust tests).
    let helper = manifest.join("tests/c/helper.c");
    println!("cargo:rerun-if-changed={}", helper.display());
    let obj = out.join("helper.o");
    let ok = helper.exists()
        && status_ok(
            Command::new(cc())
                .args(["-std=c11", "-D_GNU_SOURCE", "-O2", "-fPIC", "-Wall", "-Werror", "-c"])
                .arg("-I")
                .arg(&found.include)
                .arg(&helper)
                .arg("-o")
                .arg(&obj),
        )
        && status_ok(Command::new("ar").arg("rcs").arg(out.join("libsonde_ctest.a")).arg(&obj));
    if ok {
        println!("cargo:rustc-link-search=native={}", out.display());
    } else {
        println!("cargo:warning=no C compiler: the polyglot test is compiled out");
        println!("cargo:rustc-cfg=sonde_no_ctest");
    }
}
