//! Issue 13.17: by default the crate links the shared libsonde.so, so a
//! Rust component loaded into a process that already runs libsonde
//! (Python, C, Go) shares its registry instead of bringing its own copy.
#![cfg(not(sonde_static))]

#[test]
fn links_shared_libsonde() {
    let maps = match std::fs::read_to_string("/proc/self/maps") {
        Ok(m) => m,
        Err(_) => return, // no /proc: nothing to check
    };
    assert!(maps.contains("/libsonde.so"), "libsonde.so is not mapped: the crate linked a static copy");
    sonde::instance_check().unwrap();
}
