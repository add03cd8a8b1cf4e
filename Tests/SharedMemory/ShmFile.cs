using System.Runtime.InteropServices;

namespace Inference.Tests.SharedMemory;

/// <summary>A POSIX shared memory object of the test (<c>/dev/shm/aspire-test-&lt;guid&gt;</c>), as a client creates one
/// with shm_open + ftruncate; read and written through the file, which shares its pages with the server's mapping.</summary>
internal sealed class ShmFile : IDisposable
{
    public ShmFile(int byteSize)
    {
        Name = "aspire-test-" + Guid.NewGuid().ToString("N");
        using var f = new FileStream(Path, FileMode.CreateNew, FileAccess.ReadWrite);
        f.SetLength(byteSize);
    }

    public string Name { get; }

    /// <summary>The shm_open key: "/" + the name.</summary>
    public string Key => "/" + Name;

    public string Path => System.IO.Path.Join("/dev/shm", Name);

    public void Write(long offset, ReadOnlySpan<float> values) => Write(offset, MemoryMarshal.AsBytes(values));

    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    public float[] ReadFloats(long offset, int count)
    {
        var bytes = new byte[count * sizeof(float)];
        using var f = new FileStream(Path, FileMode.Open, FileAccess.Read);
        f.Position = offset;
        f.ReadExactly(bytes);
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    public void Dispose() => File.Delete(Path);
}
