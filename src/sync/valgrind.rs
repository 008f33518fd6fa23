//! Tells valgrind's drd and helgrind the order a [`Lock`](super::Lock) and
//! the queue's hand-offs make, which they cannot see in a futex or a plain
//! store: with `--cfg mtmsg_valgrind` (test/check-memory.sh drd) they are
//! announced through valgrind's client requests; otherwise these are empty.

/// `VG_USERREQ_TOOL_BASE('H','G') + 256 + 33` and `+ 34` of helgrind.h
/// and drd.h: ANNOTATE_HAPPENS_BEFORE and ANNOTATE_HAPPENS_AFTER.
const HAPPENS_BEFORE: usize = ((b'H' as usize) << 24 | (b'G' as usize) << 16) + 256 + 33;
const HAPPENS_AFTER: usize = HAPPENS_BEFORE + 1;

#[cfg(all(mtmsg_valgrind, target_arch = "x86_64"))]
fn client_request(request: usize, address: usize) {
    let args = [request, address, 0, 0, 0, 0];
    // SAFETY: valgrind's magic sequence: the rotations add up to 128
    // bits and leave rdi as it was; outside valgrind it does nothing.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51", "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") 0usize => _,
            options(nostack),
        );
    }
}

#[cfg(not(all(mtmsg_valgrind, target_arch = "x86_64")))]
fn client_request(_request: usize, _address: usize) {}

pub fn happens_before<T>(object: &T) {
    client_request(HAPPENS_BEFORE, object as *const T as usize);
}

pub fn happens_after<T>(object: &T) {
    client_request(HAPPENS_AFTER, object as *const T as usize);
}
