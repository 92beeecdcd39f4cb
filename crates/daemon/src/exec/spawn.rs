//! Starting an exec command with `posix_spawn` (glibc: `clone(CLONE_VM|CLONE_VFORK)`) in a new
//! session, instead of `fork`: no copy of the daemon's page tables and no copy-on-write
//! faults before the `exec`, which is most of the start-up cost of a short command.
//!
//! Used when no credentials change and no controlling terminal is needed (those need code
//! between fork and exec, so they keep std's `Command` with a `pre_exec`).

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

/// Owned `posix_spawn` attributes and file actions, destroyed on drop.
struct SpawnArgs {
    attr: libc::posix_spawnattr_t,
    actions: libc::posix_spawn_file_actions_t,
}

impl SpawnArgs {
    fn new() -> io::Result<Box<SpawnArgs>> {
        // SAFETY: both are plain C structs initialised by the init calls below before any use;
        // they are boxed so their addresses stay stable.
        let mut a: Box<SpawnArgs> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: valid pointers to the boxed structs.
        unsafe {
            check(libc::posix_spawnattr_init(&mut a.attr))?;
            if let Err(e) = check(libc::posix_spawn_file_actions_init(&mut a.actions)) {
                libc::posix_spawnattr_destroy(&mut a.attr);
                return Err(e);
            }
        }
        Ok(a)
    }
}

impl Drop for SpawnArgs {
    fn drop(&mut self) {
        // SAFETY: both were initialised in `new`.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

/// glibc's posix_spawn sets its internal signals (SIGCANCEL 32 and SIGSETXID 33) to SIG_IGN
/// in the child unless they are in the "set to default" set, and an exec keeps ignored
/// signals ignored. `sigaddset` refuses those two, so their bits (signal n is bit n-1 of the
/// first word of glibc's `sigset_t`) are set directly.
fn add_internal_signals(set: &mut libc::sigset_t) {
    const _: () = assert!(std::mem::size_of::<libc::sigset_t>() >= 8);
    // SAFETY: glibc's sigset_t is an array of unsigned longs (at least 8 bytes, checked
    // above); the first word holds signals 1-64.
    unsafe {
        let first = std::ptr::from_mut(set).cast::<u64>();
        *first |= (1u64 << 31) | (1u64 << 32);
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Start `program` with `argv` (`argv[0]` included), exactly the environment `env`, working
/// directory `cwd`, and `stdio` as its fds 0, 1 and 2, as the leader of a new session. The
/// signal mask is emptied and `SIGPIPE` (ignored by the Rust runtime) reset to its default,
/// as std's `Command` does; other ignored signals stay ignored, as with `fork`. Returns the child's pid; exec errors (e.g. `ENOENT`, `EACCES`,
/// a bad `cwd`) are returned as errors.
///
/// Every fd in `stdio` must be 3 or more (a `dup2` onto itself would keep its close-on-exec
/// flag).
pub fn spawn_session(
    program: &Path,
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &str,
    stdio: [BorrowedFd<'_>; 3],
) -> io::Result<i32> {
    if stdio.iter().any(|fd| fd.as_raw_fd() < 3) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "stdio fds must be 3 or more",
        ));
    }
    let path = cstring(program.as_os_str().as_bytes())?;
    let cwd = cstring(OsStr::new(cwd).as_bytes())?;
    let argv_c = argv
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<io::Result<Vec<_>>>()?;
    let env_c = env
        .iter()
        .map(|(k, v)| {
            let mut kv = Vec::with_capacity(k.len() + v.len() + 1);
            kv.extend_from_slice(k.as_bytes());
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstring(&kv)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut argv_p: Vec<*mut libc::c_char> = argv_c.iter().map(|c| c.as_ptr().cast_mut()).collect();
    argv_p.push(std::ptr::null_mut());
    let mut env_p: Vec<*mut libc::c_char> = env_c.iter().map(|c| c.as_ptr().cast_mut()).collect();
    env_p.push(std::ptr::null_mut());

    let mut args = SpawnArgs::new()?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: all pointers are valid NUL-terminated strings or arrays ending in NULL that
    // outlive the call; the attribute and file-action objects were initialised.
    unsafe {
        let a = &mut *args;
        for (target, fd) in stdio.iter().enumerate() {
            check(libc::posix_spawn_file_actions_adddup2(
                &mut a.actions,
                fd.as_raw_fd(),
                target as libc::c_int,
            ))?;
        }
        check(libc::posix_spawn_file_actions_addchdir_np(
            &mut a.actions,
            cwd.as_ptr(),
        ))?;
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        check(libc::posix_spawnattr_setsigmask(&mut a.attr, &empty))?;
        let mut default: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut default);
        libc::sigaddset(&mut default, libc::SIGPIPE);
        add_internal_signals(&mut default);
        check(libc::posix_spawnattr_setsigdefault(&mut a.attr, &default))?;
        let flags = libc::POSIX_SPAWN_SETSID as libc::c_int
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        check(libc::posix_spawnattr_setflags(
            &mut a.attr,
            flags as libc::c_short,
        ))?;
        check(libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &a.actions,
            &a.attr,
            argv_p.as_ptr(),
            env_p.as_ptr(),
        ))?;
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
    }

    fn wait(pid: i32) -> i32 {
        match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap() {
            nix::sys::wait::WaitStatus::Exited(_, code) => code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runs_in_a_new_session_with_exactly_its_env_cwd_and_argv0() {
        let (in_r, _in_w) = pipe();
        let (out_r, out_w) = pipe();
        let mut env = BTreeMap::new();
        env.insert("ONLY".to_string(), "this".to_string());
        let argv: Vec<String> = [
            "myname",
            "-c",
            "echo $0 $ONLY $(pwd); env | wc -l; cut -d' ' -f6 /proc/$$/stat; echo $$; echo err >&2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let pid = spawn_session(
            Path::new("/bin/sh"),
            &argv,
            &env,
            "/tmp",
            [in_r.as_fd(), out_w.as_fd(), out_w.as_fd()],
        )
        .unwrap();
        drop(out_w);
        let mut out = String::new();
        std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
        assert_eq!(wait(pid), 0);
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(lines[0], "myname this /tmp", "{out}");
        // ONLY, plus PWD (and SHLVL, _) that sh sets itself.
        assert!(lines[1].parse::<u32>().unwrap() <= 4, "{out}");
        // Session id == pid: the child leads a new session.
        assert_eq!(lines[2], lines[3], "{out}");
        assert_eq!(lines[4], "err", "{out}");
    }

    #[test]
    fn exec_errors_are_reported() {
        let (r, w) = pipe();
        let fds = [r.as_fd(), w.as_fd(), w.as_fd()];
        let env = BTreeMap::new();
        let argv = vec!["x".to_string()];
        let e = spawn_session(Path::new("/nonexistent/x"), &argv, &env, "/", fds).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        let e = spawn_session(Path::new("/bin/sh"), &argv, &env, "/nonexistent", fds).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        let e = spawn_session(Path::new("/etc/passwd"), &argv, &env, "/", fds).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EACCES));
    }
}
