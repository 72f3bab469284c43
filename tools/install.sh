#!/usr/bin/env bash
# tools/install.sh install|uninstall DESTDIR PREFIX BUILD - what `make install`
# and `make uninstall` run (see the Makefile for the variables).
#
# install copies the headers, libsonde.a, libsonde.so.<version> with its two
# links, sonde.pc, the CMake package (lib/cmake/sonde), the man pages and the
# Python package, and lists every file it wrote and every directory it had
# to create in share/sonde/install-manifest. uninstall removes the files of
# that manifest and then those directories when they are empty, so the
# prefix is left as it was before the install (a directory that existed
# before is never removed; a prefix that did not exist is removed again). Then the loader: a library installed into a
# directory the loader searches needs `ldconfig` (run here when root and
# not staging into DESTDIR); elsewhere, programs need an rpath or
# LD_LIBRARY_PATH, and the message says so.
set -eu
action=$1
destdir=$2
prefix=$3
build=$4
root=$(cd "$(dirname "$0")/.." && pwd)
case "$prefix" in
/*) ;;
*) echo "install: PREFIX must be an absolute path (got '$prefix')" >&2; exit 2 ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
d=$destdir$prefix
manifest_rel=share/sonde/install-manifest
manifest=$d/$manifest_rel

# The directories the loader searches (ld.so.conf and the defaults).
loader_dirs() {
	{ /sbin/ldconfig -v -N -X 2>/dev/null || ldconfig -v -N -X 2>/dev/null || true; } |
		sed -n 's|^\(/[^:]*\):.*|\1|p'
	printf '%s\n' /lib /usr/lib /lib64 /usr/lib64
}

if [ "$action" = uninstall ]; then
	if [ ! -f "$manifest" ]; then
		echo "uninstall: $manifest not found: nothing installed by sonde in $d" >&2
		exit 1
	fi
	# files (and links) first, then the directories install created,
	# deepest first
	created=$(grep '^d ' "$manifest.dirs" 2>/dev/null | cut -c3- | sort -r || true)
	outer=$(grep '^p /' "$manifest.dirs" 2>/dev/null | cut -c3- | sort -r || true)
	while IFS=' ' read -r kind path; do
		[ "$kind" = f ] && rm -f "$d/$path"
	done < "$manifest"
	rm -f "$manifest"
	while read -r path; do
		[ -n "$path" ] && { rmdir "$d/$path" 2>/dev/null || true; }
	done <<< "$created"
	# the prefix and the folders above it that install created
	while read -r path; do
		[ -n "$path" ] && { rmdir "$path" 2>/dev/null || true; }
	done <<< "$outer"
	rm -f "$manifest.dirs"
	echo "uninstall: sonde removed from $d"
	exit 0
fi

[ "$action" = install ] || { echo "usage: install.sh install|uninstall DESTDIR PREFIX BUILD" >&2; exit 2; }
: "${SONDE_VERSION:?}" "${SONDE_SOMAJOR:?}"
libs=${SONDE_LIBS:--lpthread}
zlib=${SONDE_ZLIB:-0}
pydir=${PYTHONDIR:-}
case "$pydir" in
"$prefix"/*) pyrel=${pydir#"$prefix"/} ;;
"") pyrel= ;;
*) echo "install: PYTHONDIR ($pydir) is not under PREFIX ($prefix)" >&2; exit 2 ;;
esac

files=()
dirs=()
# mkdir -p that remembers each directory it created (relative to $d)
mkd() {
	local rel=$1 acc="" part
	local IFS=/
	for part in $rel; do
		acc=${acc:+$acc/}$part
		if [ ! -d "$d/$acc" ]; then
			mkdir "$d/$acc"
			dirs+=("$acc")
		fi
	done
}
# the prefix itself (and DESTDIR's folders above it) when missing: created
# here and recorded, so uninstall removes them too
outer=()
acc=""
IFS=/ read -ra parts <<< "${d#/}"
for part in "${parts[@]}"; do
	[ -n "$part" ] || continue
	acc=$acc/$part
	if [ ! -d "$acc" ]; then
		mkdir "$acc"
		outer+=("$acc")
	fi
done
put() { # mode source destination-relative
	mkd "$(dirname "$3")"
	install -m "$1" "$2" "$d/$3"
	files+=("$3")
}
link() { # target destination-relative
	ln -sfn "$1" "$d/$2"
	files+=("$2")
}
write() { # destination-relative, content on stdin
	mkd "$(dirname "$1")"
	cat > "$d/$1"
	chmod 644 "$d/$1"
	files+=("$1")
}

v=$SONDE_VERSION
put 644 "$root/include/sonde.h" include/sonde.h
for h in "$root"/include/sonde/*.h; do put 644 "$h" "include/sonde/$(basename "$h")"; done
put 644 "$build/libsonde.a" lib/libsonde.a
put 755 "$build/libsonde.so.$v" "lib/libsonde.so.$v"
link "libsonde.so.$v" "lib/libsonde.so.$SONDE_SOMAJOR"
link "libsonde.so.$v" lib/libsonde.so

write lib/pkgconfig/sonde.pc <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: sonde
Description: embeddable instrumentation SDK: metrics, logs, traces
Version: $v
Libs: -L\${libdir} -lsonde
Libs.private: $libs
Cflags: -I\${includedir}
PC

# The CMake package: relocatable (paths from the file's own location).
zdep=""
zlink=""
if [ "$zlib" = 1 ]; then
	zdep="find_dependency(ZLIB)"
	zlink=";ZLIB::ZLIB"
fi
write lib/cmake/sonde/sondeConfig.cmake <<CM
# sondeConfig.cmake - sonde $v, written by sonde's \`make install\`.
#   find_package(sonde CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE sonde::sonde)         # libsonde.so
#   target_link_libraries(app PRIVATE sonde::sonde_static)  # libsonde.a
# Use the shared sonde::sonde when several components of a process use
# sonde (one registry per copy of the library).
cmake_minimum_required(VERSION 3.11)
get_filename_component(_sonde_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)
$zdep
if(NOT TARGET sonde::sonde)
  add_library(sonde::sonde SHARED IMPORTED)
  set_target_properties(sonde::sonde PROPERTIES
    IMPORTED_LOCATION "\${_sonde_prefix}/lib/libsonde.so.$v"
    IMPORTED_SONAME "libsonde.so.$SONDE_SOMAJOR"
    INTERFACE_INCLUDE_DIRECTORIES "\${_sonde_prefix}/include")
endif()
if(NOT TARGET sonde::sonde_static)
  add_library(sonde::sonde_static STATIC IMPORTED)
  set_target_properties(sonde::sonde_static PROPERTIES
    IMPORTED_LOCATION "\${_sonde_prefix}/lib/libsonde.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_sonde_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads$zlink")
endif()
set(sonde_VERSION "$v")
unset(_sonde_prefix)
CM

# Version rule: same major version, and for 0.x the same minor too (0.x
# minors may change the ABI); never a newer version than installed.
write lib/cmake/sonde/sondeConfigVersion.cmake <<CM
# sondeConfigVersion.cmake - sonde $v
set(PACKAGE_VERSION "$v")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "${v%%.*}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif("${v%%.*}" STREQUAL "0" AND NOT PACKAGE_FIND_VERSION_MINOR STREQUAL "$(echo "$v" | cut -d. -f2)")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P STREQUAL "$(getconf LONG_BIT | awk '{print $1/8}')")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} ($(getconf LONG_BIT)-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
CM

for m in "$build"/man/man3/*.3; do
	[ -e "$m" ] || break
	put 644 "$m" "share/man/man3/$(basename "$m")"
done

if [ -n "$pyrel" ]; then
	for f in "$root"/bindings/python/sonde/*.py; do
		put 644 "$f" "$pyrel/sonde/$(basename "$f")"
	done
	write "$pyrel/sonde/_install.py" <<PY
"""Written by sonde's \`make install\`: where it put libsonde."""
LIBDIR = "$prefix/lib"
PY
fi

# the manifest lists itself and its companion
mkd share/sonde
{
	for f in "${files[@]}"; do echo "f $f"; done
	echo "f $manifest_rel"
	echo "f $manifest_rel.dirs"
} > "$manifest"
# directories created now, plus those an earlier install created (a second
# install over the first must not forget them)
{
	[ -f "$manifest.dirs" ] && cat "$manifest.dirs"
	for x in "${dirs[@]}"; do echo "d $x"; done
	for x in "${outer[@]}"; do echo "p $x"; done
} | sort -u > "$manifest.tmp"
mv "$manifest.tmp" "$manifest.dirs"
echo "install: sonde $v installed into $d ($(grep -c '^f ' "$manifest") files)"

# The loader
libdir=$prefix/lib
if [ -n "$destdir" ]; then
	echo "install: staged into DESTDIR; run ldconfig on the target system after copying it"
elif loader_dirs | grep -qxF "$libdir"; then
	if [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then
		ldconfig && echo "install: ran ldconfig ($libdir is on the loader's path)"
	else
		echo "install: $libdir is on the loader's path: run 'sudo ldconfig' so programs find libsonde.so.$SONDE_SOMAJOR"
	fi
else
	echo "install: $libdir is not on the loader's path: link programs with -Wl,-rpath,$libdir or set LD_LIBRARY_PATH=$libdir (or add it to /etc/ld.so.conf.d and run ldconfig)"
fi
