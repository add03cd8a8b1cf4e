using System.Runtime.InteropServices;

namespace Inference.Server.SharedMemory;

/// <summary>The libc calls that map a POSIX shared memory object: open (never following a symbolic link), lseek for
/// its size, mmap, munmap, close. Linux only; flags differ by architecture where libc's do.</summary>
internal static partial class LibC
{
    private const string Library = "libc";

    public const int ReadWrite = 2;
    public const int ProtectRead = 1;
    public const int ProtectWrite = 2;
    public const int MapShared = 1;
    public const int SeekEnd = 2;
    public static readonly nint MapFailed = -1;

    /// <summary>O_NOFOLLOW | O_CLOEXEC of this architecture (O_NOFOLLOW is 0x8000 on arm64, 0x20000 on x86-64).</summary>
    public static int NoFollowCloseOnExec =>
        (RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000) | 0x80000;

    [LibraryImport(Library, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Seek(int fd, long offset, int whence);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Map(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Unmap(nint address, nuint length);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>The text of the last call's errno.</summary>
    public static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
