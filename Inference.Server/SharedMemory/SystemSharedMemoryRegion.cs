using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>A POSIX shared memory object (<c>/dev/shm/&lt;key&gt;</c>) mapped read-write from <see cref="Offset"/> for
/// <see cref="SharedMemoryRegion.ByteSize"/> bytes. The mapping starts at the page boundary below the offset (mmap
/// needs one), so any offset works.</summary>
public sealed class SystemSharedMemoryRegion : SharedMemoryRegion
{
    private readonly nint _mapping;
    private readonly nuint _mappingLength;

    private SystemSharedMemoryRegion(string name, string key, ulong offset, ulong byteSize, nint mapping, nuint mappingLength, int delta)
        : base(name, byteSize)
    {
        Key = key;
        Offset = offset;
        _mapping = mapping;
        _mappingLength = mappingLength;
        Address = mapping + delta;
    }

    public string Key { get; }

    public ulong Offset { get; }

    public override SharedMemoryKind Kind => SharedMemoryKind.System;

    public override nint Address { get; }

    /// <summary>Opens the object at <paramref name="path"/> (never through a symbolic link), checks that
    /// [offset, offset + byteSize) lies inside it, and maps that range. Errors use Triton's wording.</summary>
    internal static Result<SharedMemoryRegion> Map(string name, string key, string path, ulong offset, ulong byteSize)
    {
        var fd = LibC.Open(path, LibC.ReadWrite | LibC.NoFollowCloseOnExec);
        if (fd < 0)
        {
            return new InferenceError(ErrorCode.InvalidArgument,
                $"Unable to open shared memory region: '{key}' ({LibC.LastError()})");
        }
        try
        {
            var size = LibC.Seek(fd, 0, LibC.SeekEnd);
            if (size < 0)
            {
                return new InferenceError(ErrorCode.InvalidArgument, $"Invalid shared memory region: '{key}' ({LibC.LastError()})");
            }
            if (offset > (ulong)size || byteSize > (ulong)size - offset)
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"failed to register shared memory region '{name}': invalid args (offset {offset} + byte_size {byteSize} exceeds the {size} bytes of '{key}')");
            }
            var page = (ulong)Environment.SystemPageSize;
            var delta = (int)(offset % page);
            var mappingLength = (nuint)(byteSize + (ulong)delta);
            var mapping = LibC.Map(0, mappingLength, LibC.ProtectRead | LibC.ProtectWrite, LibC.MapShared, fd, (long)(offset - (ulong)delta));
            if (mapping == LibC.MapFailed)
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"failed to register shared memory region '{name}': unable to map '{key}' ({LibC.LastError()})");
            }
            return new SystemSharedMemoryRegion(name, key, offset, byteSize, mapping, mappingLength, delta);
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    protected override void Free() => LibC.Unmap(_mapping, _mappingLength);
}
