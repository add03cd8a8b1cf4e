using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace Inference.Tests.Repository;

public sealed class ModelFileStoreTests : IDisposable
{
    private readonly ModelFileStore _store = new(maxBytes: 4096);

    public void Dispose() => _store.Dispose();

    private static ModelConfig Config => new() { Name = "m", MaxBatchSize = 8 };

    [Fact]
    public void Write_PutsTheFolderInTheServersTemporaryFolder_AndDeleteRemovesItAndItsBytes()
    {
        Assert.Null(_store.RootPath);

        var written = _store.Write("m", Config, [new ModelFile("1/model.onnx", new byte[] { 1, 2, 3 }), new ModelFile("labels.txt", "a\nb"u8.ToArray())]).Value!;

        var root = _store.RootPath!;
        Assert.StartsWith(Path.GetTempPath(), root, StringComparison.Ordinal);
        Assert.StartsWith(ModelFileStore.FolderPrefix, Path.GetFileName(root), StringComparison.Ordinal);
        Assert.Equal(Path.Combine(root, "1"), written.Repository.RootPath);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(root, "1", "m", "1", "model.onnx")));
        Assert.Contains("max_batch_size: 8", File.ReadAllText(Path.Combine(root, "1", "m", "config.pbtxt")), StringComparison.Ordinal);
        Assert.Equal(written.Bytes, _store.HeldBytes);
        Assert.True(written.Repository.Contains("m"));

        _store.Delete(written);
        _store.Delete(written);

        Assert.False(Directory.Exists(written.Repository.RootPath));
        Assert.Equal(0, _store.HeldBytes);
        _store.Dispose();
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void Write_OverTheLimit_IsRefusedAndWritesNothing_UntilSpaceIsFreed()
    {
        var first = _store.Write("a", Config, [new ModelFile("1/model.onnx", new byte[3000])]).Value!;

        var refused = _store.Write("b", Config, [new ModelFile("1/model.onnx", new byte[3000])]);

        Assert.Equal(ErrorCode.InvalidArgument, refused.Error!.Code);
        Assert.Contains("over the server's limit of 4096 bytes (--max-model-files-bytes)", refused.Error.Message, StringComparison.Ordinal);
        Assert.Equal(["1"], Directory.EnumerateDirectories(_store.RootPath!).Select(Path.GetFileName));
        _store.Delete(first);
        Assert.True(_store.Write("b", Config, [new ModelFile("1/model.onnx", new byte[3000])]).IsSuccess);
    }

    [Theory]
    [InlineData("../m2/1/model.onnx")]
    [InlineData("1/../../x")]
    [InlineData("/tmp/x")]
    [InlineData("1\\..\\x")]
    [InlineData("config.pbtxt")]
    public void Write_RefusesPathsThatLeaveTheModelFolder_BeforeWritingAnything(string path)
    {
        var refused = _store.Write("m", Config, [new ModelFile(path, new byte[] { 1 })]);

        Assert.Equal(ErrorCode.InvalidArgument, refused.Error!.Code);
        Assert.Contains($"file parameter 'file:{path}'", refused.Error.Message, StringComparison.Ordinal);
        Assert.Null(_store.RootPath);
        Assert.Equal(0, _store.HeldBytes);
    }

    [Fact]
    public void Write_OfAPathGivenTwice_FailsAndLeavesNothing()
    {
        var refused = _store.Write("m", Config, [new ModelFile("1/model.onnx", new byte[] { 1 }), new ModelFile("1/model.onnx", new byte[] { 2 })]);

        Assert.Contains("the path is given twice", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.RootPath!));
        Assert.Equal(0, _store.HeldBytes);
    }
}
