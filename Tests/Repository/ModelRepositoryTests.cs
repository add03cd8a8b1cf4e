using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace Inference.Tests.Repository;

public sealed class ModelRepositoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("repo-tests-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relative, string content = "x")
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private ModelFolder Read(string name)
    {
        var r = new ModelRepository(_root).ReadModel(name);
        Assert.True(r.IsSuccess, r.Error?.Message);
        return r.Value!;
    }

    [Fact]
    public void ListModelNames_ReturnsFoldersInOrder_SkippingHiddenOnesAndFiles()
    {
        Directory.CreateDirectory(Path.Combine(_root, "b"));
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        Directory.CreateDirectory(Path.Combine(_root, ".cache"));
        Write("README.md");
        Assert.Equal(["a", "b"], new ModelRepository(_root).ListModelNames());
    }

    [Fact]
    public void ListModelNames_OfMissingRoot_IsEmpty() =>
        Assert.Empty(new ModelRepository(Path.Combine(_root, "nope")).ListModelNames());

    [Fact]
    public void ReadModel_FindsNumericVersions_IgnoringOthersAsTritonDoes()
    {
        Write("m/1/model.onnx");
        Write("m/10/model.onnx");
        Write("m/2/other.bin");
        Write("m/01/model.onnx");
        Write("m/0/model.onnx");
        Write("m/latest/model.onnx");
        Write("m/-3/model.onnx");
        var folder = Read("m");
        Assert.Null(folder.Config);
        Assert.Equal([1L, 2L, 10L], folder.Versions.Select(v => v.Version));
        Assert.True(folder.Versions[0].IsValid);
        Assert.Equal(Path.Combine(_root, "m", "10", "model.onnx"), folder.Versions[2].ModelFilePath);
        Assert.False(folder.Versions[1].IsValid);
        Assert.Equal("version 2 of model 'm' has no model file 'model.onnx' in 'm/2'", folder.Versions[1].Error);
    }

    [Fact]
    public void ReadModel_UsesTheConfigsDefaultModelFilename()
    {
        Write("m/config.pbtxt", "name: \"m\" default_model_filename: \"net.onnx\"");
        Write("m/1/net.onnx");
        Write("m/2/model.onnx");
        var folder = Read("m");
        Assert.Equal("net.onnx", folder.Config!.DefaultModelFilename);
        Assert.True(folder.Versions[0].IsValid);
        Assert.False(folder.Versions[1].IsValid);
    }

    [Fact]
    public void ReadModel_WithAConfigName_ReadsConfigsNamePbtxtAndFallsBackToConfigPbtxtAsTritonDoes()
    {
        Write("a/config.pbtxt", "name: \"a\" max_batch_size: 4");
        Write("a/configs/gpu.pbtxt", "name: \"a\" max_batch_size: 16");
        Write("a/1/model.onnx");
        Write("b/config.pbtxt", "name: \"b\" max_batch_size: 2");
        Write("b/1/model.onnx");
        var repository = new ModelRepository(_root, "gpu");

        var a = repository.ReadModel("a").Value!;
        var b = repository.ReadModel("b").Value!;

        Assert.Equal((16, Path.Combine(_root, "a", "configs", "gpu.pbtxt")), (a.Config!.MaxBatchSize, a.ConfigPath));
        Assert.Equal((2, Path.Combine(_root, "b", "config.pbtxt")), (b.Config!.MaxBatchSize, b.ConfigPath));
        Assert.Equal(4, Read("a").Config!.MaxBatchSize);
    }

    [Fact]
    public void ReadModel_AcceptsAModelDirectoryHoldingModelOnnx()
    {
        Write("m/1/model.onnx/model.onnx");
        Assert.Equal(Path.Combine(_root, "m", "1", "model.onnx", "model.onnx"), Read("m").Versions[0].ModelFilePath);
    }

    [Fact]
    public void ReadModel_ReportsConfigErrorsWithThePathInTheRepository()
    {
        Write("m/config.pbtxt", "name: \"m\"\nmax_batch: 4\n");
        var r = new ModelRepository(_root).ReadModel("m");
        Assert.Equal("m/config.pbtxt:2:1: unknown field 'max_batch' in inference.ModelConfig", r.Error!.Message);
    }

    [Fact]
    public void ReadModel_PrefersTheOverrideConfig()
    {
        Write("m/config.pbtxt", "this is not parsed");
        var r = new ModelRepository(_root).ReadModel("m", new ModelConfig { Name = "m", MaxBatchSize = 2 });
        Assert.Equal(2, r.Value!.Config!.MaxBatchSize);
    }

    [Theory]
    [InlineData("missing", ErrorCode.NotFound)]
    [InlineData("..", ErrorCode.InvalidArgument)]
    [InlineData("a/b", ErrorCode.InvalidArgument)]
    [InlineData("", ErrorCode.InvalidArgument)]
    public void ReadModel_RejectsUnknownAndUnsafeNames(string name, ErrorCode code) =>
        Assert.Equal(code, new ModelRepository(_root).ReadModel(name).Error!.Code);

    [Theory]
    [InlineData("", new long[] { 7 })]
    [InlineData("latest { num_versions: 2 }", new long[] { 3, 7 })]
    [InlineData("latest { num_versions: 10 }", new long[] { 1, 3, 7 })]
    [InlineData("all { }", new long[] { 1, 3, 7 })]
    [InlineData("specific { versions: [ 3, 1 ] }", new long[] { 1, 3 })]
    public void SelectVersions_AppliesThePolicy(string policy, long[] expected)
    {
        Write("m/1/model.onnx");
        Write("m/3/model.onnx");
        Write("m/7/model.onnx");
        var p = policy.Length == 0 ? null : PbtxtParser.Parse<ModelVersionPolicy>(policy, "p").Value;
        Assert.Equal(expected, ModelRepository.SelectVersions(Read("m"), p).Select(v => v.Version));
    }

    [Fact]
    public void SelectVersions_ReportsSpecificVersionsWithoutFolders()
    {
        Write("m/1/model.onnx");
        var p = new ModelVersionPolicy { Specific = new() { Versions = { 1, 4 } } };
        var selected = ModelRepository.SelectVersions(Read("m"), p);
        Assert.True(selected[0].IsValid);
        Assert.Equal("version 4 of model 'm' is listed by the version policy but its folder does not exist", selected[1].Error);
    }

    [Fact]
    public void SelectVersions_KeepsInvalidVersionsWithTheirReason()
    {
        Write("m/1/model.onnx");
        Directory.CreateDirectory(Path.Combine(_root, "m", "2"));
        var selected = ModelRepository.SelectVersions(Read("m"), null);
        Assert.Equal(2, Assert.Single(selected).Version);
        Assert.Contains("has no model file", selected[0].Error);
    }

    [Fact]
    public void ReadLabels_ReadsTheNamedFileLineByLine()
    {
        Write("m/classes.txt", "cat\r\ndog\n\nbird\n");
        var labels = new ModelRepository(_root).ReadLabels(Read("m"), new ModelOutput { Name = "p", LabelFilename = "classes.txt" });
        Assert.Equal(["cat", "dog", "", "bird"], labels.Value!);
    }

    [Fact]
    public void ReadLabels_FallsBackToLabelsTxt_OrNull()
    {
        Directory.CreateDirectory(Path.Combine(_root, "m"));
        var output = new ModelOutput { Name = "p" };
        var none = new ModelRepository(_root).ReadLabels(Read("m"), output);
        Assert.True(none.IsSuccess);
        Assert.Null(none.Value);
        Write("m/labels.txt", "a\nb");
        Assert.Equal(["a", "b"], new ModelRepository(_root).ReadLabels(Read("m"), output).Value!);
    }

    [Fact]
    public void ReadLabels_MissingNamedFile_IsAnError()
    {
        Directory.CreateDirectory(Path.Combine(_root, "m"));
        var r = new ModelRepository(_root).ReadLabels(Read("m"), new ModelOutput { Name = "p", LabelFilename = "x.txt" });
        Assert.Equal("label file 'x.txt' of output 'p' of model 'm' does not exist in 'm'", r.Error!.Message);
    }

    [Fact]
    public void ReadLabels_OutsideTheModelFolder_IsAnError()
    {
        Write("secret.txt");
        Directory.CreateDirectory(Path.Combine(_root, "m"));
        var r = new ModelRepository(_root).ReadLabels(Read("m"), new ModelOutput { Name = "p", LabelFilename = "../secret.txt" });
        Assert.Equal("label file '../secret.txt' of output 'p' of model 'm' must be a relative path inside the model folder (it has a '..' segment)", r.Error!.Message);
    }

    [Fact]
    public void Fingerprint_ChangesWhenFilesChange_AndOnlyThen()
    {
        var repo = new ModelRepository(_root);
        var model = Write("m/1/model.onnx", "aaaa");
        var first = repo.Fingerprint("m");
        Assert.NotNull(first);
        Assert.Equal(first, repo.Fingerprint("m"));

        Write("m/2/model.onnx");
        var second = repo.Fingerprint("m");
        Assert.NotEqual(first, second);

        File.SetLastWriteTimeUtc(model, File.GetLastWriteTimeUtc(model).AddSeconds(-10));
        var third = repo.Fingerprint("m");
        Assert.NotEqual(second, third);

        File.WriteAllText(model, "aaaaa");
        File.SetLastWriteTimeUtc(model, File.GetLastWriteTimeUtc(model).AddSeconds(-10));
        Assert.NotEqual(third, repo.Fingerprint("m"));
    }

    [Fact]
    public void Fingerprint_OfMissingModel_IsNull() => Assert.Null(new ModelRepository(_root).Fingerprint("nope"));
}
