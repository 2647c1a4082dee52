#!/usr/bin/env bash
# Builds xorriso 1.5.4 (libburn + libisofs + libisoburn, Debian bookworm source
# packages) to WebAssembly with Debian's emscripten, into resources/xorriso/dist/.
#
# The output is cached under $EMT_CACHE_DIR/xorriso-wasm-<sha256 of this recipe
# and the compiler version>; a warm run only copies it. Facts behind each step:
# ../../../shared/reference/xorriso-wasm.md (and this folder's README.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dist="$here/dist"
cache_root="${EMT_CACHE_DIR:-$HOME/.cache/emt-usb}"
jobs="${EMT_JOBS:-2}"

# Exact source package versions: the ones Debian's native xorriso 1.5.4 is built
# from, so both engines can be compared byte for byte.
PACKAGES=(libburn=1.5.4-1 libisofs=1.5.4-1 libisoburn=1.5.4-4)
UPSTREAM=1.5.4

log() { echo "xorriso-wasm: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

recipe_hash() {
  # Every file of the recipe (not the output, not the README) plus the compiler identity.
  {
    (cd "$here" && find . -path ./dist -prune -o -type f ! -name README.md -print | LC_ALL=C sort | xargs sha256sum)
    emcc --version 2>/dev/null | sed -n 1p
  } | sha256sum | cut -d' ' -f1
}

install_dist() {
  local from="$1"
  if [ -f "$dist/.recipe" ] && cmp -s "$dist/.recipe" "$from/.recipe"; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d "$here/.dist.XXXXXX")
  cp -a "$from/." "$tmp/"
  rm -rf "$dist"
  # -T: never move into a dist/ that a concurrent run just put there.
  mv -T "$tmp" "$dist" 2>/dev/null || rm -rf "$tmp"
}

# deb-src lines for the same mirrors, suites and components as the machine's
# deb lines (one-line .list and deb822 .sources), read at run time.
derive_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -E 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && uris != "" && enabled != "no") {
          opts = (key != "") ? "[signed-by=" key "] " : ""
          n = split(uris, u, /[[:space:]]+/)
          m = split(suites, s, /[[:space:]]+/)
          for (i = 1; i <= n; i++)
            for (j = 1; j <= m; j++)
              if (u[i] != "" && s[j] != "") print "deb-src " opts u[i] " " s[j] " " comps
        }
        types = ""; uris = ""; suites = ""; comps = ""; key = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        field = tolower($1); sub(/:$/, "", field)
        value = $0; sub(/^[^:]*:[[:space:]]*/, "", value)
        if (field == "types") types = value
        else if (field == "uris") uris = value
        else if (field == "suites") suites = value
        else if (field == "components") comps = value
        else if (field == "signed-by" && value ~ /^\//) key = value
        else if (field == "enabled") enabled = tolower(value)
      }
      END { flush() }
    ' "$f"
  done
}

# Downloads the three source packages with apt-get, using a private apt state
# so the machine's apt configuration is left as it was.
fetch_sources() {
  local into="$1" aptdir="$1/.apt"
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  derive_deb_src >"$aptdir/sources.list"
  [ -s "$aptdir/sources.list" ] || die "no deb lines in /etc/apt/sources.list{,.d}: cannot find Debian sources"
  local -a apt=(
    -o "Dir::Etc::SourceList=$aptdir/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/none"
    -o "Dir::State::Lists=$aptdir/lists"
    -o "Dir::Cache=$aptdir/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
  )
  log "apt-get update (private state in $aptdir)"
  # A third-party repository without sources must not stop us; apt-get source
  # below fails clearly if the packages we need are not found.
  apt-get "${apt[@]}" -qq update || log "warning: apt-get update reported errors"
  (cd "$into" && apt-get "${apt[@]}" -qq source --download-only "${PACKAGES[@]}") ||
    log "warning: apt-get source reported errors (libburn's debian tarball is known to be missing)"
  local p name
  for p in "${PACKAGES[@]}"; do
    name=${p%%=*}
    local orig="$into/${name}_${UPSTREAM}.orig.tar.gz" dsc="$into/${name}_${p#*=}.dsc"
    [ -f "$orig" ] || die "apt-get source did not fetch $(basename "$orig")"
    [ -f "$dsc" ] || die "apt-get source did not fetch $(basename "$dsc")"
    # apt checked it against the Sources index; check it against the .dsc too.
    local want
    want=$(awk -v f="$(basename "$orig")" '/^Checksums-Sha256:/ {on=1; next} /^[^ ]/ {on=0} on && $3 == f {print $1}' "$dsc")
    [ -n "$want" ] || die "$(basename "$dsc") lists no sha256 for $(basename "$orig")"
    [ "$(sha256sum "$orig" | cut -d' ' -f1)" = "$want" ] || die "$(basename "$orig") does not match the sha256 in $(basename "$dsc")"
  done
}

unpack() {
  local src="$1" name="$2"
  tar -xzf "$src/${name}_${UPSTREAM}.orig.tar.gz" -C "$src"
  # Upstream ships generated autotools files; keep make from re-running them.
  (cd "$src/$name-$UPSTREAM" && touch aclocal.m4 && touch configure && find . -name Makefile.in -exec touch {} +)
}

# configure_pkg DIR [configure args...]
configure_pkg() {
  local dir="$1"
  shift
  log "configure $(basename "$dir")"
  (cd "$dir" && nice emconfigure ./configure --prefix="$PREFIX" --disable-shared --enable-static \
    --disable-versioned-libs --disable-ldconfig-at-install --disable-dependency-tracking \
    "$@" >configure.out 2>&1) || {
    tail -n 30 "$dir/configure.out" >&2
    die "configure failed in $dir"
  }
}

# make_pkg DIR [targets...]
make_pkg() {
  local dir="$1"
  shift
  log "make $(basename "$dir") $*"
  (cd "$dir" && nice emmake make -j"$jobs" "$@" >>make.out 2>&1) || {
    tail -n 40 "$dir/make.out" >&2
    die "make failed in $dir"
  }
}

write_sources_note() {
  local out="$1" src="$2"
  {
    echo "xorriso.js, xorriso.worker.js and xorriso.wasm are xorriso ${UPSTREAM},"
    echo "compiled to WebAssembly by resources/xorriso/build.sh of this project."
    echo "It is free software under the GNU General Public License, version 2 or later"
    echo "(GPL-2.0-or-later: xorriso, libisoburn, libisofs, libburn; see COPYING.*)."
    echo "It runs as a separate program; this project's own code is not linked to it."
    echo
    echo "Corresponding source: these Debian source packages (bookworm), plus the"
    echo "changes in resources/xorriso/ (build.sh, patches/, src/, pre.js, *.js libraries):"
    local p
    for p in "${PACKAGES[@]}"; do
      local name=${p%%=*}
      echo "  ${name} ${p#*=}: ${name}_${UPSTREAM}.orig.tar.gz sha256 $(sha256sum "$src/${name}_${UPSTREAM}.orig.tar.gz" | cut -d' ' -f1)"
    done
    echo "Upstream: https://dev.lovelyhq.com/libburnia (libburn, libisofs, libisoburn)."
    echo "Compiler: $(emcc --version | sed -n 1p)"
  } >"$out/SOURCES.txt"
  cp "$src/libisoburn-$UPSTREAM/COPYING" "$out/COPYING.libisoburn"
  cp "$src/libisofs-$UPSTREAM/COPYING" "$out/COPYING.libisofs"
  cp "$src/libburn-$UPSTREAM/COPYING" "$out/COPYING.libburn"
}

build() {
  local out="$1" work="$2"
  local src="$work/src"
  mkdir -p "$src"
  PREFIX="$work/prefix"

  # Node 20 with emscripten 3.1.6: emcc needs Debian's acorn, and the glue's
  # fetch() use breaks configure's run tests unless fetch is off.
  export NODE_PATH=/usr/share/nodejs
  export NODE_OPTIONS=--no-experimental-fetch
  export CFLAGS="-O2 -pthread"
  export LDFLAGS="-pthread"

  fetch_sources "$src"
  local name
  for name in libburn libisofs libisoburn; do unpack "$src" "$name"; done
  local p
  for p in "$here"/patches/*.patch; do
    local target
    target=$(basename "$p" | cut -d- -f1)
    log "patch $target < $(basename "$p")"
    patch -s -p1 -d "$src/$target-$UPSTREAM" <"$p"
  done

  # libburn: no optical drive adapter needed (it picks sg-dummy); emscripten's
  # fake statvfs would make it refuse image files over ~1.9 GiB.
  configure_pkg "$src/libburn-$UPSTREAM" --disable-libcdio ac_cv_func_statvfs=no
  make_pkg "$src/libburn-$UPSTREAM"
  make_pkg "$src/libburn-$UPSTREAM" install
  # eaccess is declared in emscripten's headers but missing from its libc.
  # local-file.h: our reader of file content (patches/libisofs-local-file-reads.patch);
  # it is linked only into xorriso, so build the library, not libisofs' demo.
  CPPFLAGS="-I$here/src" configure_pkg "$src/libisofs-$UPSTREAM" --disable-libacl --disable-xattr \
    --disable-libjte --disable-zlib ac_cv_have_decl_eaccess=no
  make_pkg "$src/libisofs-$UPSTREAM" libisofs/libisofs.la
  make_pkg "$src/libisofs-$UPSTREAM" install-libLTLIBRARIES install-libincludeHEADERS
  # libisoburn's own link of the program fails on wait3 (no such call in
  # emscripten's libc): build the library and the main object, link by hand.
  local iso="$src/libisoburn-$UPSTREAM"
  CPPFLAGS="-I$PREFIX/include" LDFLAGS="-pthread -L$PREFIX/lib" configure_pkg "$iso" \
    --disable-libacl --disable-xattr --disable-libjte --disable-zlib --disable-libreadline \
    --disable-libedit --disable-external-filters --disable-launch-frontend \
    ac_cv_have_decl_eaccess=no
  local main_obj=xorriso/xorriso_xorriso-xorriso_main.o
  make_pkg "$iso" libisoburn/libisoburn.la "$main_obj"

  # PTHREAD_POOL_SIZE: workers started up front (xorriso runs about four threads
  # while writing; more start on demand). Each costs ~0.1 s of CPU to start.
  log "link xorriso.js"
  local obj="$work/obj"
  mkdir -p "$obj"
  emcc -O2 -pthread -c "$here/src/wait3-stub.c" -o "$obj/wait3-stub.o"
  emcc -O2 -pthread -c "$here/src/stable-qsort.c" -o "$obj/stable-qsort.o"
  emcc -O2 -pthread -c "$here/src/local-file.c" -o "$obj/local-file.o"
  nice emcc -O2 -pthread -o "$out/xorriso.js" \
    "$iso/$main_obj" "$obj/wait3-stub.o" "$obj/stable-qsort.o" "$obj/local-file.o" \
    "$iso/libisoburn/.libs/libisoburn.a" "$PREFIX/lib/libisofs.a" "$PREFIX/lib/libburn.a" \
    --pre-js "$here/pre.js" --js-library "$here/worker-stat.js" \
    --js-library "$here/fd-sync.js" \
    -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1 -sWASM_ASYNC_COMPILATION=0 \
    -sPROXY_TO_PTHREAD=1 -sPTHREAD_POOL_SIZE=4 -sINITIAL_MEMORY=268435456

  # The project's package.json says "type": "module"; the glue is CommonJS.
  echo '{ "type": "commonjs" }' >"$out/package.json"
  write_sources_note "$out" "$src"
}

main() {
  command -v emcc >/dev/null || die "emcc not found: install Debian's emscripten (npm run setup)"
  local hash cached
  hash=$(recipe_hash)
  cached="$cache_root/xorriso-wasm-$hash"
  if [ -f "$cached/xorriso.wasm" ] && [ -f "$cached/.recipe" ]; then
    log "cached: $cached"
    install_dist "$cached"
    return 0
  fi

  mkdir -p "$cache_root"
  local work stage
  work=$(mktemp -d "${TMPDIR:-/tmp}/xorriso-wasm.XXXXXX")
  stage=$(mktemp -d "$cache_root/.xorriso-wasm.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the paths are fixed for this run
  trap "rm -rf '$work' '$stage'" EXIT
  local start=$SECONDS
  build "$stage" "$work"
  echo "$hash" >"$stage/.recipe"
  chmod 755 "$stage"
  # Atomic publish; if a concurrent run published first, its output is as good.
  mv -T "$stage" "$cached" 2>/dev/null || log "another run published $cached first"
  log "built in $((SECONDS - start)) s: $cached"
  install_dist "$cached"
}

main "$@"
