using System.Text;

namespace Inference.Server.ModelTools;

/// <summary>
/// The model repository the server serves when none is given: a Triton-layout folder holding the generated
/// ResNet-50 (<c>resnet50/config.pbtxt</c>, <c>resnet50/1/model.onnx</c>, <c>resnet50/labels.txt</c>), and
/// <c>resnet50/configs/gpu.pbtxt</c>, the same model on one KIND_GPU instance, which the server reads instead of
/// config.pbtxt under <c>--model-config-name=gpu</c>; and the ensemble <c>resnet50_image</c> (UINT8 HWC images,
/// preprocessed by <c>resnet50_preprocess</c>, then <c>resnet50</c>: <see cref="ImageEnsembleWriter"/>).
/// It lives in a cache folder and is generated once. Labels are synthetic (<c>class_0000</c> … <c>class_0999</c>):
/// no ImageNet label list is available offline, and the weights are synthetic too.
/// </summary>
public static class DefaultModelRepository
{
    /// <summary>Environment variable naming the cache folder (the repository is its <c>model-repository</c> child).</summary>
    public const string CacheEnvironmentVariable = "ASPIRE_INFERENCE_CACHE";

    public const string ModelName = "resnet50";

    public const string LabelFileName = "labels.txt";

    /// <summary>The --model-config-name of the default ResNet-50's GPU config (<c>resnet50/configs/gpu.pbtxt</c>).</summary>
    public const string GpuConfigName = "gpu";

    /// <summary>Bumped whenever the generated content changes, so stale caches are rebuilt.</summary>
    private const string ContentVersion = "resnet50-v1.5-seed20240917-3-image-ensemble";

    /// <summary>The ensemble of the default repository: UINT8 HWC images through <c>resnet50_preprocess</c> into <see cref="ModelName"/>.</summary>
    public const string ImageEnsembleName = "resnet50_image";

    private const string MarkerFileName = ".aspire-inference-repository";

    /// <summary>
    /// Returns the path of the default repository, generating it first if it is missing or stale.
    /// The cache folder is <paramref name="cacheRoot"/>, else $ASPIRE_INFERENCE_CACHE, else
    /// $XDG_CACHE_HOME/aspire-inference, else ~/.cache/aspire-inference. Safe against concurrent callers in
    /// several processes: each builds into its own temporary folder beside the target and renames it into place;
    /// a loser of the race discards its copy and uses the winner's. Takes a few seconds when it generates.
    /// </summary>
    public static string EnsureCreated(string? cacheRoot = null) =>
        EnsureCreated(Path.GetFullPath(cacheRoot ?? ResolveCacheRoot()), WriteResNet50, ContentVersion);

    /// <summary>The create-once logic of <see cref="EnsureCreated(string?)"/> with the content and its version
    /// stamp as parameters: <paramref name="writeRepository"/> fills an empty staging folder.</summary>
    internal static string EnsureCreated(string root, Action<string> writeRepository, string contentVersion)
    {
        var repository = Path.Combine(root, "model-repository");
        if (IsCurrent(repository, contentVersion))
        {
            return repository;
        }

        Directory.CreateDirectory(root);
        var staging = Path.Combine(root, $".model-repository.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(staging);
            writeRepository(staging);
            File.WriteAllText(Path.Combine(staging, MarkerFileName), contentVersion);
            if (Directory.Exists(repository) && !IsCurrent(repository, contentVersion))
            {
                MoveAsideAndDelete(repository);
            }
            try
            {
                Directory.Move(staging, repository);
            }
            catch (IOException) when (IsCurrent(repository, contentVersion))
            {
                // Another process finished first; its repository is identical.
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        return repository;
    }

    /// <summary>
    /// Writes a small ResNet (<see cref="ResNetOptions.Tiny"/> unless <paramref name="options"/> is given) as model
    /// <paramref name="modelName"/> into <paramref name="repositoryPath"/>: config.pbtxt (max_batch_size
    /// <paramref name="maxBatchSize"/>, dynamic batching, <paramref name="cpuInstances"/> CPU instances), 1/model.onnx
    /// and labels.txt. Overwrites files of an existing folder. Returns the model folder.
    /// </summary>
    public static string WriteSmallModel(
        string repositoryPath,
        string modelName = "resnet_tiny",
        ResNetOptions? options = null,
        int maxBatchSize = 8,
        int cpuInstances = 1)
    {
        options ??= ResNetOptions.Tiny;
        var modelFolder = Path.Combine(repositoryPath, modelName);
        WriteModel(modelFolder, modelName, options, maxBatchSize, cpuInstances, [2, 4], 1000);
        return modelFolder;
    }

    /// <summary>The synthetic label of class <paramref name="index"/>: "class_0007".</summary>
    public static string SyntheticLabel(int index) => $"class_{index:D4}";

    internal static string ResolveCacheRoot()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cacheHome = !string.IsNullOrWhiteSpace(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "aspire-inference");
    }

    private static void WriteResNet50(string repository)
    {
        var modelFolder = Path.Combine(repository, ModelName);
        var options = ResNetOptions.ResNet50;
        WriteModel(modelFolder, ModelName, options, 64, 2, [8, 16], 2000);
        AtomicFile.WriteAllText(Path.Combine(modelFolder, "configs", GpuConfigName + ".pbtxt"), ModelConfigText.ImageClassifier(
            ModelName, 64, options.InputName, options.ImageSize, options.OutputName, options.NumClasses, LabelFileName,
            1, [8, 16], 2000, "KIND_GPU"));
        ImageEnsembleWriter.Write(repository, ImageEnsembleName, ModelName, options, 64);
    }

    private static void WriteModel(
        string modelFolder, string modelName, ResNetOptions options, int maxBatchSize, int cpuInstances,
        IReadOnlyList<int> preferredBatchSizes, int maxQueueDelayMicroseconds)
    {
        ResNetBuilder.Write(Path.Combine(modelFolder, "1", "model.onnx"), options);
        var labels = new StringBuilder();
        for (var i = 0; i < options.NumClasses; i++)
        {
            labels.Append(SyntheticLabel(i)).Append('\n');
        }
        AtomicFile.WriteAllText(Path.Combine(modelFolder, LabelFileName), labels.ToString());
        AtomicFile.WriteAllText(Path.Combine(modelFolder, "config.pbtxt"), ModelConfigText.ImageClassifier(
            modelName, maxBatchSize, options.InputName, options.ImageSize, options.OutputName, options.NumClasses,
            LabelFileName, cpuInstances, preferredBatchSizes, maxQueueDelayMicroseconds));
    }

    private static bool IsCurrent(string repository, string contentVersion)
    {
        var marker = Path.Combine(repository, MarkerFileName);
        try
        {
            return File.Exists(marker) && File.ReadAllText(marker) == contentVersion;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void MoveAsideAndDelete(string repository)
    {
        var aside = repository + $".{Guid.NewGuid():N}.stale";
        try
        {
            Directory.Move(repository, aside);
        }
        catch (IOException)
        {
            return; // Someone else moved or replaced it; the final rename decides.
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }
        Directory.Delete(aside, recursive: true);
    }
}
