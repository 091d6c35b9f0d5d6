/* bcryptprimitives.dll for Wine 8.0, which lacks it.
 *
 * Rust std (>= 1.78) on windows-gnu imports ProcessPrng from this DLL to seed
 * its hash maps; without it every Rust .exe exits at once with
 * STATUS_DLL_NOT_FOUND. This forwards to RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Built by `cargo xtask` into the
 * project's Wine prefix only; never installed anywhere else. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
