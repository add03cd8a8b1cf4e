using Inference.Server.Core;
using Inference.Server.Hosting;
using Inference.Server.ModelTools;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Inference.Tests.Repository;

/// <summary>
/// The model manager's state stays bounded by the repository: only its models get an entry, readiness follows the
/// models meant to be served, and entries of models whose folder has gone are dropped. Real folders, real ONNX models.
/// </summary>
public sealed class ModelManagerTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    private async Task<ModelManager> StartAsync(ModelControlMode mode, params string[] loadModels)
    {
        var options = new InferenceServerOptions { ModelRepository = _root.Path, ModelControlMode = mode, LoadModels = [.. loadModels] };
        var loader = new ModelVersionLoader(new ModelRepository(_root.Path), TimeProvider.System, NullLoggerFactory.Instance);
        var manager = new ModelManager(Options.Create(options), loader, NullLogger<ModelManager>.Instance);
        await manager.StartAsync(Ct);
        return manager;
    }

    private string[] IndexNames(ModelManager manager) => [.. manager.GetRepositoryIndex().Select(r => r.Name).Distinct()];

    [Fact]
    public async Task LoadsOfNamesThatAreNotModelsOfTheRepository_AddNothing()
    {
        IdentityModelBuilder.Write(_root.Path, "identity", width: 16, maxBatchSize: 8);
        await using var manager = await StartAsync(ModelControlMode.Explicit, "identity");

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(ErrorCode.NotFound, (await manager.LoadModelAsync($"missing_{i}", cancellationToken: Ct))!.Code);
        }
        foreach (var name in new[] { "../identity", "/etc", ".", "..", "", ".hidden", "a\u0001", new string('a', 300) })
        {
            var error = (await manager.LoadModelAsync(name, cancellationToken: Ct))!;
            Assert.Equal(ErrorCode.InvalidArgument, error.Code);
            Assert.StartsWith("failed to load: ", error.Message, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.InvalidArgument, (await manager.UnloadModelAsync(name, cancellationToken: Ct))!.Code);
        }

        Assert.Equal(1, manager.TrackedModelCount);
        Assert.Equal(["identity"], IndexNames(manager));
        Assert.True(manager.IsReady);
        Assert.Equal(ErrorCode.NotFound, manager.GetModelConfig("../identity").Error!.Code);
        Assert.Equal(ErrorCode.NotFound, manager.GetModelConfig("missing_0").Error!.Code);
    }

    [Fact]
    public async Task ConcurrentLoadsAndUnloadsOfOneModel_KeepOneEntry()
    {
        IdentityModelBuilder.Write(_root.Path, "identity", width: 16, maxBatchSize: 8);
        await using var manager = await StartAsync(ModelControlMode.Explicit);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Null(await manager.LoadModelAsync("identity", cancellationToken: Ct));
                Assert.Null(await manager.UnloadModelAsync("identity", cancellationToken: Ct));
            }
        }, Ct)));
        Assert.Null(await manager.LoadModelAsync("identity", cancellationToken: Ct));

        Assert.Equal(1, manager.TrackedModelCount);
        Assert.True(manager.IsModelReady("identity"));
        Assert.True(manager.IsReady);
    }

    [Fact]
    public async Task UnloadOfAModelWhoseFolderHasGone_DropsItsEntry_AndTheNameIsUnknownAgain()
    {
        var folder = IdentityModelBuilder.Write(_root.Path, "gone", width: 16, maxBatchSize: 8);
        await using var manager = await StartAsync(ModelControlMode.Explicit, "gone");
        Directory.Delete(folder, recursive: true);
        Assert.Equal(["gone"], IndexNames(manager));

        Assert.Null(await manager.UnloadModelAsync("gone", cancellationToken: Ct));

        Assert.Equal(0, manager.TrackedModelCount);
        Assert.Empty(manager.GetRepositoryIndex());
        Assert.Equal(ErrorCode.NotFound, manager.GetModelConfig("gone").Error!.Code);
        Assert.Equal(ErrorCode.NotFound, (await manager.UnloadModelAsync("gone", cancellationToken: Ct))!.Code);
        Assert.True(manager.IsReady);
    }

    [Fact]
    public async Task Poll_AFolderThatHasGone_DropsItsEntry()
    {
        IdentityModelBuilder.Write(_root.Path, "identity", width: 16, maxBatchSize: 8);
        var folder = IdentityModelBuilder.Write(_root.Path, "gone", width: 16, maxBatchSize: 8);
        await using var manager = await StartAsync(ModelControlMode.Poll);
        Directory.Delete(folder, recursive: true);

        await manager.PollOnceAsync(Ct);

        Assert.Equal(1, manager.TrackedModelCount);
        Assert.Equal(["identity"], IndexNames(manager));
        Assert.Equal(ErrorCode.NotFound, manager.GetModelConfig("gone").Error!.Code);
    }

    [Fact]
    public async Task StrictReadiness_ANameGivenAtStartThatIsNotInTheRepository_KeepsTheServerUnready_UntilItLoads()
    {
        await using var manager = await StartAsync(ModelControlMode.Explicit, "later");
        Assert.False(manager.IsReady);
        Assert.Equal(0, manager.TrackedModelCount);

        IdentityModelBuilder.Write(_root.Path, "later", width: 16, maxBatchSize: 8);
        Assert.Null(await manager.LoadModelAsync("later", cancellationToken: Ct));

        Assert.True(manager.IsReady);
    }

    [Fact]
    public async Task StrictReadiness_ANameGivenAtStartThatIsNotInTheRepository_NoLongerCountsOnceUnloaded()
    {
        await using var manager = await StartAsync(ModelControlMode.Explicit, "typo");
        Assert.False(manager.IsReady);

        Assert.Equal(ErrorCode.NotFound, (await manager.UnloadModelAsync("typo", cancellationToken: Ct))!.Code);

        Assert.True(manager.IsReady);
    }
}
