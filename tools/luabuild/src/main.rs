//! Builds one Lua as a static library plus its C headers, for mtmsg's test
//! host and Lua module builds (the Makefile calls it; no system Lua needed).
//!
//! ```text
//! luabuild <lua5.1|lua5.2|lua5.3|lua5.4|lua5.5|luajit> <out-dir>
//! ```
//!
//! Produces `<out-dir>/include/{lua.h,lauxlib.h,lualib.h,luaconf.h[,luajit.h]}`
//! and `<out-dir>/lib/lib<version>.a` (e.g. `liblua5.4.a`, `libluajit.a`):
//! the library is always named after the version argument, which is what the
//! Makefile relies on. The last line on stdout names the library file.
//!
//! Every build has the Lua API checks on (`LUA_USE_APICHECK`, the crates'
//! debug mode) so a misuse of the C API by the glue fails loudly in tests,
//! at `-O2` so the test suite still runs fast. Objects are position
//! independent (cc's default on Linux, LuaJIT's `-fPIC`), so the library
//! links into an executable that exports its symbols with `-Wl,-E`.

use std::env;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: luabuild <lua5.1|lua5.2|lua5.3|lua5.4|lua5.5|luajit> <out-dir>";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [version, out_dir] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match build(version, Path::new(out_dir)) {
        Ok(library) => {
            println!("{}", library.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("luabuild {version}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn build(version: &str, out_dir: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let triple = host_triple()?;
    imitate_build_script_env(&triple);
    // Each version gets its own folder: both crates put headers and
    // libraries under `<out>/include` and `<out>/lib`, so a shared folder
    // would mix the versions' headers.
    let library_dir = match version {
        "luajit" => luajit_src::Build::new()
            .out_dir(out_dir)
            .target(&triple)
            .host(&triple)
            .debug(true)
            .try_build()
            .map_err(|e| e.to_string())?
            .lib_dir()
            .to_path_buf(),
        _ => lua_src::Build::new()
            .out_dir(out_dir)
            .target(&triple)
            .host(&triple)
            .debug(true)
            .opt_level("2")
            .try_build(lua_version(version)?)?
            .lib_dir()
            .to_path_buf(),
    };
    let library = library_dir.join(format!("lib{version}.a"));
    if !library.is_file() {
        return Err(format!("the build did not produce {}", library.display()).into());
    }
    Ok(library)
}

fn lua_version(name: &str) -> Result<lua_src::Version, Box<dyn Error>> {
    Ok(match name {
        "lua5.1" => lua_src::Lua51,
        "lua5.2" => lua_src::Lua52,
        "lua5.3" => lua_src::Lua53,
        "lua5.4" => lua_src::Lua54,
        "lua5.5" => lua_src::Lua55,
        _ => return Err(format!("unknown version {name:?}\n{USAGE}").into()),
    })
}

/// The triple to build for: `TARGET` when set (as in a build script), else
/// the host of the `rustc` that cargo would use.
fn host_triple() -> Result<String, Box<dyn Error>> {
    if let Ok(target) = env::var("TARGET") {
        return Ok(target);
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc).arg("-vV").output()?;
    String::from_utf8(output.stdout)?
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| format!("`{rustc} -vV` names no host").into())
}

/// Both crates are written for build scripts, and the `cc` crate they use
/// (and luajit-src itself) read these variables that cargo sets there.
/// Values already set by the caller win.
fn imitate_build_script_env(triple: &str) {
    let pointer_width = (usize::BITS).to_string();
    let defaults = [
        ("TARGET", triple),
        ("HOST", triple),
        ("OPT_LEVEL", "2"),
        ("DEBUG", "true"),
        ("CARGO_CFG_TARGET_POINTER_WIDTH", pointer_width.as_str()),
    ];
    for (name, value) in defaults {
        if env::var_os(name).is_none() {
            // Single-threaded here, before any build starts.
            env::set_var(name, value);
        }
    }
}
