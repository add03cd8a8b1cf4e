using Inference.Server.SharedMemory;

namespace Inference.Tests.SharedMemory;

public sealed class SystemSharedMemoryKeyTests
{
    [Theory]
    [InlineData("/input0", "/dev/shm/input0")]
    [InlineData("input0", "/dev/shm/input0")]
    [InlineData("/a.b-c_d", "/dev/shm/a.b-c_d")]
    public void PlainNames_MapIntoDevShm(string key, string path) => Assert.Equal(path, SystemSharedMemoryKey.ToPath(key).Value);

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/.")]
    [InlineData("/..")]
    [InlineData("/../etc/passwd")]
    [InlineData("/a/../../b")]
    [InlineData("//etc")]
    [InlineData("/a/b")]
    [InlineData("/a..b")]
    [InlineData("/a\0b")]
    public void KeysThatCouldLeaveDevShm_AreRejected(string key)
    {
        var r = SystemSharedMemoryKey.ToPath(key);

        Assert.False(r.IsSuccess);
        Assert.StartsWith("invalid shared memory key", r.Error!.Message);
    }

    [Fact]
    public void OverlongNames_AreRejected() => Assert.False(SystemSharedMemoryKey.ToPath("/" + new string('a', 256)).IsSuccess);
}
