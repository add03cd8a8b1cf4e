using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Repository;

/// <summary>
/// The repository keeps every file a model uses inside it: model names, the file names a config gives, and
/// symbolic links (followed within the repository, refused out of it), on real folders and links. Messages
/// name files relative to the repository.
/// </summary>
public sealed class ModelRepositoryConfinementTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly TempDirectory _outside = new();

    public void Dispose()
    {
        _root.Dispose();
        _outside.Dispose();
    }

    private ModelRepository Repository => new(_root.Path);

    private string Write(string relative, string content = "x")
    {
        var path = _root.Combine(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string WriteOutside(string relative, string content = "x")
    {
        var path = _outside.Combine(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private ModelFolder Read(string name)
    {
        var r = Repository.ReadModel(name);
        Assert.True(r.IsSuccess, r.Error?.Message);
        return r.Value!;
    }

    [Theory]
    [InlineData("identity")]
    [InlineData("resnet-50_v1.2")]
    [InlineData("a b")]
    [InlineData("modèle")]
    [InlineData("a..b")]
    public void CheckModelName_AcceptsFolderNames(string name) => Assert.Null(ModelRepository.CheckModelName(name));

    [Theory]
    [InlineData("", "the name is not a valid model name: it is empty")]
    [InlineData(".", "'.' is not a valid model name: it starts with '.'")]
    [InlineData("..", "'..' is not a valid model name: it starts with '.'")]
    [InlineData(".hidden", "'.hidden' is not a valid model name: it starts with '.'")]
    [InlineData("../identity", "'../identity' is not a valid model name: it has a '/' or '\\'")]
    [InlineData("/etc", "'/etc' is not a valid model name: it has a '/' or '\\'")]
    [InlineData("a\\b", "'a\\b' is not a valid model name: it has a '/' or '\\'")]
    [InlineData("a\0b", "the name is not a valid model name: it has a control character")]
    [InlineData("a\u0085b", "the name is not a valid model name: it has a control character")]
    public void CheckModelName_RefusesWhatIsNotAFolderNameOfTheRoot(string name, string message)
    {
        var error = ModelRepository.CheckModelName(name);
        Assert.Equal((ErrorCode.InvalidArgument, message), (error!.Code, error.Message));
    }

    [Fact]
    public void CheckModelName_AllowsAtMost255Characters()
    {
        Assert.Null(ModelRepository.CheckModelName(new string('a', 255)));
        Assert.Equal("the name is not a valid model name: it has 256 characters, more than 255", ModelRepository.CheckModelName(new string('a', 256))!.Message);
    }

    [Fact]
    public void ListModelNames_SkipsFoldersThatAreNotValidModelNames_AndContainsAgrees()
    {
        Directory.CreateDirectory(_root.Combine("good"));
        Directory.CreateDirectory(_root.Combine("back\\slash"));
        Directory.CreateDirectory(_root.Combine(".hidden"));
        Assert.Equal(["good"], Repository.ListModelNames());
        Assert.True(Repository.Contains("good"));
        Assert.False(Repository.Contains("back\\slash"));
        Assert.False(Repository.Contains(".hidden"));
        Assert.False(Repository.Contains("missing"));
        Assert.False(Repository.Contains(".."));
    }

    [Fact]
    public void ReadModel_OfAMissingModel_DoesNotNameTheRepositoryPath()
    {
        var error = Repository.ReadModel("missing").Error!;
        Assert.Equal((ErrorCode.NotFound, "model 'missing' is not in the model repository"), (error.Code, error.Message));
    }

    [Theory]
    [InlineData("default_model_filename: \"/tmp/elsewhere/model.onnx\"", "default_model_filename: '/tmp/elsewhere/model.onnx' must be a relative path inside the version folder (it is rooted)")]
    [InlineData("default_model_filename: \"../../../etc/shadow\"", "default_model_filename: '../../../etc/shadow' must be a relative path inside the version folder (it has a '..' segment)")]
    [InlineData("cc_model_filenames { key: \"8.0\" value: \"/x.plan\" }", "cc_model_filenames[\"8.0\"]: '/x.plan' must be a relative path inside the version folder (it is rooted)")]
    [InlineData("output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] label_filename: \"../l.txt\" } ]", "output[0].label_filename: '../l.txt' must be a relative path inside the model folder (it has a '..' segment)")]
    [InlineData("model_warmup [ { name: \"w\" batch_size: 1 inputs { key: \"x\" value { data_type: TYPE_FP32 dims: [ 1 ] input_data_file: \"/etc/passwd\" } } } ]",
        "model_warmup[0].inputs[\"x\"].input_data_file: '/etc/passwd' must be a relative path inside the model's warmup folder (it is rooted)")]
    public void ReadModel_RefusesConfigFileNamesThatLeaveTheirFolder_BeforeLookingThemUp(string config, string message)
    {
        Write("m/config.pbtxt", "name: \"m\" " + config);
        Write("m/1/model.onnx");
        var error = Repository.ReadModel("m").Error!;
        Assert.Equal((ErrorCode.InvalidArgument, "m/config.pbtxt: " + message), (error.Code, error.Message));
    }

    [Fact]
    public void ReadModel_ChecksTheFileNamesOfAConfigOverride_NamingTheOverride()
    {
        Write("m/1/model.onnx");
        var error = Repository.ReadModel("m", new ModelConfig { Name = "m", DefaultModelFilename = "/etc/shadow" }).Error!;
        Assert.Equal("config override of 'm': default_model_filename: '/etc/shadow' must be a relative path inside the version folder (it is rooted)", error.Message);
    }

    [Fact]
    public void ReadModel_AcceptsAModelFileInASubfolderOfTheVersion()
    {
        Write("m/config.pbtxt", "name: \"m\" default_model_filename: \"onnx/net.onnx\"");
        var file = Write("m/1/onnx/net.onnx");
        Assert.Equal(file, Read("m").Versions[0].ModelFilePath);
    }

    [Fact]
    public void ReadModel_FollowsLinksWithinTheRepository()
    {
        var shared = Write(".weights/model.onnx");
        Directory.CreateDirectory(_root.Combine("m", "1"));
        File.CreateSymbolicLink(_root.Combine("m", "1", "model.onnx"), Path.Combine("..", "..", ".weights", "model.onnx"));
        Directory.CreateDirectory(_root.Combine("m", "2"));
        File.CreateSymbolicLink(_root.Combine("m", "2", "model.onnx"), shared);
        Directory.CreateSymbolicLink(_root.Combine("m", "3"), "1");

        var folder = Read("m");

        Assert.Equal([1L, 2L, 3L], folder.Versions.Select(v => v.Version));
        Assert.All(folder.Versions, v => Assert.True(v.IsValid, v.Error));
    }

    [Fact]
    public void ReadModel_ThroughARepositoryRootThatIsALink_ServesItsModels()
    {
        Write("m/1/model.onnx");
        var mount = Path.Combine(_outside.Path, "mount");
        Directory.CreateSymbolicLink(mount, _root.Path);
        var folder = new ModelRepository(mount).ReadModel("m");
        Assert.True(folder.IsSuccess, folder.Error?.Message);
        Assert.True(folder.Value!.Versions[0].IsValid, folder.Value.Versions[0].Error);
    }

    [Fact]
    public void ReadModel_RefusesAModelFileLinkedOutOfTheRepository_WhetherItsTargetExistsOrNot()
    {
        var target = WriteOutside("model.onnx");
        Directory.CreateDirectory(_root.Combine("m", "1"));
        File.CreateSymbolicLink(_root.Combine("m", "1", "model.onnx"), target);
        Directory.CreateDirectory(_root.Combine("m", "2"));
        File.CreateSymbolicLink(_root.Combine("m", "2", "model.onnx"), target + ".absent");
        Directory.CreateDirectory(_root.Combine("m", "3"));
        File.CreateSymbolicLink(_root.Combine("m", "3", "model.onnx"), Path.Combine("..", "1", "model.onnx"));
        Directory.CreateSymbolicLink(_root.Combine("m", "4"), _outside.Path);

        var versions = Read("m").Versions;

        Assert.Equal([1L, 2L, 3L, 4L], versions.Select(v => v.Version));
        foreach (var v in versions)
        {
            Assert.Equal($"version {v.Version} of model 'm': model file 'model.onnx' resolves outside the model repository", v.Error);
        }
    }

    [Fact]
    public void ReadModel_RefusesAModelFolderOrConfigLinkedOutOfTheRepository()
    {
        WriteOutside("m/1/model.onnx");
        Directory.CreateSymbolicLink(_root.Combine("m"), _outside.Combine("m"));
        Write("c/1/model.onnx");
        File.CreateSymbolicLink(_root.Combine("c", "config.pbtxt"), WriteOutside("c.pbtxt", "name: \"c\""));
        Write("d/1/model.onnx");
        File.CreateSymbolicLink(_root.Combine("d", "config.pbtxt"), _outside.Combine("absent.pbtxt"));

        Assert.Equal(["c", "d", "m"], Repository.ListModelNames());
        Assert.Equal("model 'm': its folder resolves outside the model repository", Repository.ReadModel("m").Error!.Message);
        Assert.Equal("c/config.pbtxt: resolves outside the model repository", Repository.ReadModel("c").Error!.Message);
        Assert.Equal("d/config.pbtxt: resolves outside the model repository", Repository.ReadModel("d").Error!.Message);
    }

    [Fact]
    public void ReadLabels_RefusesALabelFileLinkedOutOfTheRepository_AndFollowsOneWithin()
    {
        Directory.CreateDirectory(_root.Combine("m"));
        File.CreateSymbolicLink(_root.Combine("m", "labels.txt"), WriteOutside("secret.txt", "root:x:0:0"));
        Write(".labels/classes.txt", "cat\ndog");
        File.CreateSymbolicLink(_root.Combine("m", "classes.txt"), Path.Combine("..", ".labels", "classes.txt"));
        var folder = Read("m");

        var outside = Repository.ReadLabels(folder, new ModelOutput { Name = "p" });
        var within = Repository.ReadLabels(folder, new ModelOutput { Name = "p", LabelFilename = "classes.txt" });

        Assert.Equal("label file 'labels.txt' of output 'p' of model 'm' resolves outside the model repository", outside.Error!.Message);
        Assert.Equal(["cat", "dog"], within.Value!);
    }

    [Fact]
    public void ResolveWarmupFile_ResolvesInTheWarmupFolder_WithinTheRepositoryOnly()
    {
        var sample = Write("m/warmup/sample.bin");
        Directory.CreateDirectory(_root.Combine("m", "warmup"));
        File.CreateSymbolicLink(_root.Combine("m", "warmup", "linked.bin"), WriteOutside("sample.bin"));

        Assert.Equal(sample, Repository.ResolveWarmupFile("m", "sample.bin").Value);
        Assert.Equal("input_data_file 'm/warmup/absent.bin' does not exist", Repository.ResolveWarmupFile("m", "absent.bin").Error!.Message);
        Assert.Equal("input_data_file 'linked.bin' resolves outside the model repository", Repository.ResolveWarmupFile("m", "linked.bin").Error!.Message);
        Assert.Equal("input_data_file '../../x' must be a relative path inside the model's warmup folder (it has a '..' segment)",
            Repository.ResolveWarmupFile("m", "../../x").Error!.Message);
    }

    [Fact]
    public void WithoutRoot_MakesPathsInAMessageRelativeToTheRepository()
    {
        var file = _root.Combine("m", "1", "model.onnx");
        Assert.Equal("failed to read ONNX model 'm/1/model.onnx': Protobuf parsing failed.",
            Repository.WithoutRoot($"failed to read ONNX model '{file}': Protobuf parsing failed."));
        Assert.Equal("m/1/model.onnx", Repository.ForMessages(file));
    }
}
