using Inference.Server.Repository;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Repository;

/// <summary>The path rules of the repository on real folders and real symbolic links.</summary>
public sealed class RepositoryPathsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("model.onnx")]
    [InlineData("sub/model.onnx")]
    [InlineData("./model.onnx")]
    [InlineData("a..b/..c")]
    [InlineData("name with spaces.onnx")]
    public void CheckRelativeName_AcceptsPlainRelativePaths(string name) => Assert.Null(RepositoryPaths.CheckRelativeName(name));

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("/etc/shadow", "it is rooted")]
    [InlineData("\\share\\x", "it is rooted")]
    [InlineData("..", "it has a '..' segment")]
    [InlineData("../model.onnx", "it has a '..' segment")]
    [InlineData("sub/../../model.onnx", "it has a '..' segment")]
    [InlineData("sub\\..\\model.onnx", "it has a '..' segment")]
    [InlineData("model.onnx/..", "it has a '..' segment")]
    [InlineData("model\0.onnx", "it has a control character")]
    [InlineData("model\n.onnx", "it has a control character")]
    public void CheckRelativeName_RefusesRootedParentAndControlCharacters(string name, string why) =>
        Assert.Equal(why, RepositoryPaths.CheckRelativeName(name));

    [Fact]
    public void RealPath_OfAPathWithoutLinks_IsThePath_ExistingOrNot()
    {
        Directory.CreateDirectory(_temp.Combine("a", "b"));
        var real = RealTemp();
        Assert.Equal(Path.Combine(real, "a", "b"), RepositoryPaths.RealPath(Path.Combine(real, "a", "b")));
        Assert.Equal(Path.Combine(real, "a", "missing", "deeper.txt"), RepositoryPaths.RealPath(Path.Combine(real, "a", "missing", "deeper.txt")));
        Assert.Equal(Path.Combine(real, "a"), RepositoryPaths.RealPath(Path.Combine(real, "a", ".", "b", "..")));
    }

    [Fact]
    public void RealPath_FollowsRelativeAndAbsoluteLinks_OnEveryComponent()
    {
        var real = RealTemp();
        Directory.CreateDirectory(Path.Combine(real, "store", "v1"));
        File.WriteAllText(Path.Combine(real, "store", "v1", "model.onnx"), "x");
        Directory.CreateSymbolicLink(Path.Combine(real, "current"), Path.Combine("store", "v1"));
        File.CreateSymbolicLink(Path.Combine(real, "relative.onnx"), Path.Combine("current", "model.onnx"));
        File.CreateSymbolicLink(Path.Combine(real, "absolute.onnx"), Path.Combine(real, "relative.onnx"));

        Assert.Equal(Path.Combine(real, "store", "v1", "model.onnx"), RepositoryPaths.RealPath(Path.Combine(real, "current", "model.onnx")));
        Assert.Equal(Path.Combine(real, "store", "v1", "model.onnx"), RepositoryPaths.RealPath(Path.Combine(real, "relative.onnx")));
        Assert.Equal(Path.Combine(real, "store", "v1", "model.onnx"), RepositoryPaths.RealPath(Path.Combine(real, "absolute.onnx")));
        // '..' after a link leaves the link's target, not the link's folder (as the kernel resolves it).
        Assert.Equal(Path.Combine(real, "store", "other"), RepositoryPaths.RealPath(Path.Combine(real, "current", "..", "other")));
    }

    [Fact]
    public void RealPath_FollowsADanglingLink_ToWhereItPoints()
    {
        var real = RealTemp();
        File.CreateSymbolicLink(Path.Combine(real, "dangling"), "/no/such/place/file");
        Assert.Equal("/no/such/place/file", RepositoryPaths.RealPath(Path.Combine(real, "dangling")));
    }

    [Fact]
    public void RealPath_OfALinkLoop_IsNull()
    {
        var real = RealTemp();
        File.CreateSymbolicLink(Path.Combine(real, "a"), "b");
        File.CreateSymbolicLink(Path.Combine(real, "b"), "a");
        Assert.Null(RepositoryPaths.RealPath(Path.Combine(real, "a", "model.onnx")));
    }

    [Theory]
    [InlineData("/repo/m/1/model.onnx", "/repo", true)]
    [InlineData("/repo/m", "/repo/", true)]
    [InlineData("/repo", "/repo", false)]
    [InlineData("/repository/m", "/repo", false)]
    [InlineData("/etc/shadow", "/repo", false)]
    [InlineData("/anything", "/", true)]
    public void IsUnder_MeansStrictlyBelowTheFolder(string path, string root, bool under) =>
        Assert.Equal(under, RepositoryPaths.IsUnder(path, root));

    /// <summary>The temp folder's real path (the system's temp folder may itself be reached through a link).</summary>
    private string RealTemp() => RepositoryPaths.RealPath(_temp.Path)!;
}
