using System.Text.Json;
using Grpc.Core;
using Inference.Server.Protos;

namespace LoadTest.Reliability;

/// <summary>
/// Category 5, security:
/// <list type="bullet">
/// <item>readiness: a failed load of an unknown model name must not make the server unready (HTTP and gRPC);</item>
/// <item>the repository index must not grow with failed loads of unknown names (20 of them, HTTP and gRPC);</item>
/// <item>path escapes in model names (<c>..</c>, <c>../x</c>, absolute paths, backslashes, NUL, encoded forms) on load,
/// unload, infer, metadata and config, over HTTP and gRPC: a 4xx (gRPC: a clean status), never a load;</item>
/// <item>config overrides (explicit mode, repository given) whose <c>default_model_filename</c> is an absolute path or
/// a <c>../</c> path outside the repository, to a file that exists (a valid model) and to one that does not, and an
/// output <c>label_filename</c> outside the model folder: each refused with a 4xx, with the same answer whether the file
/// exists or not (no oracle), and the model goes on serving its own file;</item>
/// <item>no error message of these checks carries an absolute path (beyond what the request itself said).</item>
/// </list>
/// </summary>
public sealed class SecurityCategory : IReliabilityCategory
{
    private const string SecurityModel = "rel_sec";

    public string Name => "security";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        await ReadinessAsync(context, report, cancellationToken).ConfigureAwait(false);
        await IndexGrowthAsync(context, report, cancellationToken).ConfigureAwait(false);
        await NameEscapesAsync(context, report, cancellationToken).ConfigureAwait(false);
        if (context.Options.Repository is null)
        {
            report.Skip("security/override-escapes", "no --repository");
        }
        else if (context.Mode != ServerControlMode.Explicit)
        {
            report.Skip("security/override-escapes", $"needs explicit mode (server: {context.Mode.ToString().ToLowerInvariant()})");
        }
        else
        {
            await OverrideEscapesAsync(context, report, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task ReadinessAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        if (!await context.IsReadyAsync(cancellationToken).ConfigureAwait(false))
        {
            report.Fail("security/readiness-after-failed-load", "the server was not ready before the check (GET /v2/health/ready)");
            return;
        }
        var name = "rel_no_such_model_" + Guid.NewGuid().ToString("N")[..8];
        var load = await context.PostAsync($"/v2/repository/models/{name}/load", (string?)null, cancellationToken).ConfigureAwait(false);
        report.Check(load.IsCleanRejection, "security/unknown-load/rejected", () => load.Describe());
        report.Check(MessageChecks.AbsolutePath(load.ErrorMessage, name) is null, "security/unknown-load/no-absolute-path",
            () => $"message reveals '{MessageChecks.AbsolutePath(load.ErrorMessage, name)}': {load.ErrorMessage}");
        var httpReady = await context.IsReadyAsync(cancellationToken).ConfigureAwait(false);
        var grpcReady = false;
        try
        {
            grpcReady = (await context.Grpc.ServerReadyAsync(new ServerReadyRequest(), deadline: DateTime.UtcNow + context.Timeout, cancellationToken: cancellationToken).ConfigureAwait(false)).Ready;
        }
        catch (RpcException)
        {
        }
        report.Check(httpReady && grpcReady, "security/readiness-after-failed-load",
            () => $"after a failed load of unknown model '{name}': HTTP ready {httpReady}, gRPC ServerReady {grpcReady}");
    }

    private static async Task IndexGrowthAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var before = await context.IndexRowsAsync(cancellationToken).ConfigureAwait(false);
        var names = Enumerable.Range(0, 20).Select(i => $"rel_no_such_model_{Guid.NewGuid().ToString("N")[..8]}_{i}").ToList();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            if (i % 2 == 0)
            {
                await context.PostAsync($"/v2/repository/models/{name}/load", (string?)null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await context.GrpcAsync(o => context.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = name }, o), cancellationToken).ConfigureAwait(false);
            }
        }
        var after = await context.IndexRowsAsync(cancellationToken).ConfigureAwait(false);
        report.Check(before is not null && after == before, "security/index-stable-after-failed-loads",
            () => $"repository index had {before} rows before and {after} after 20 failed loads of unknown names");
        report.Figure("index rows before/after 20 failed loads", $"{before}/{after}");
    }

    private static async Task NameEscapesAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var outsideName = "rel_outside_" + Guid.NewGuid().ToString("N")[..8];
        string[] names =
        [
            "..", ".", "../" + context.Model, "../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "a/../../b",
            "%2e%2e%2f%2e%2e%2fetc", "..%2F..%2Fetc", context.Model + "/../" + context.Model, "a\0b", "../" + outsideName, "~", "*",
        ];
        var index = 0;
        foreach (var name in names)
        {
            var label = (index++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var encoded = Uri.EscapeDataString(name);
            // A path segment of dots only is removed by URL normalisation (RFC 3986) before any handler sees it: such
            // names are checked over gRPC only.
            var dotsOnly = name.All(ch => ch == '.');
            foreach (var (what, method, path) in dotsOnly ? [] : new[]
            {
                ("load", "POST", $"/v2/repository/models/{encoded}/load"),
                ("unload", "POST", $"/v2/repository/models/{encoded}/unload"),
                ("infer", "POST", $"/v2/models/{encoded}/infer"),
                ("metadata", "GET", $"/v2/models/{encoded}"),
                ("config", "GET", $"/v2/models/{encoded}/config"),
            })
            {
                // Sent over a raw socket so that no client-side normalisation (dot segments) changes the path.
                var body = method == "POST" && what == "infer" ? context.Seeds.JsonBody : [];
                var head = $"{method} {path} HTTP/1.1\r\nHost: {context.Options.HttpUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close";
                var r = await RawHttp.SendAsync(context.Options.HttpUrl, head, body, context.Timeout, cancellationToken).ConfigureAwait(false);
                report.Check(r.Status is >= 400 and < 500, $"security/name-escape/http-{what}/{label}", () => $"name '{name}': {r.Describe()}");
                var leak = MessageChecks.AbsolutePath(r.ErrorMessage, name);
                report.Check(leak is null, $"security/name-escape/http-{what}/{label}/no-absolute-path", () => $"name '{name}': message reveals '{leak}': {r.ErrorMessage}");
            }
            var grpc = await context.GrpcAsync(o => context.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = name }, o), cancellationToken).ConfigureAwait(false);
            report.Check(grpc.IsCleanRejection, $"security/name-escape/grpc-load/{label}", () => $"name '{name}': {grpc.Describe()}");
            var grpcLeak = MessageChecks.AbsolutePath(grpc.Message, name);
            report.Check(grpcLeak is null, $"security/name-escape/grpc-load/{label}/no-absolute-path", () => $"name '{name}': message reveals '{grpcLeak}': {grpc.Message}");
            var meta = await context.GrpcAsync(o => context.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = name }, o), cancellationToken).ConfigureAwait(false);
            report.Check(meta.IsCleanRejection, $"security/name-escape/grpc-metadata/{label}", () => $"name '{name}': {meta.Describe()}");
        }
    }

    private static async Task OverrideEscapesAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var models = new SuiteModels(context);
        var folder = models.WriteIdentity(SecurityModel);
        var outside = Path.Combine(Path.GetTempPath(), "rel-outside-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var setup = await models.LoadAsync(SecurityModel, cancellationToken).ConfigureAwait(false);
            if (!report.Check(setup.Status == 200, "security/override-setup-load", () => $"loading '{SecurityModel}': {setup.Describe()}"))
            {
                return;
            }
            Directory.CreateDirectory(outside);
            var existing = Path.Combine(outside, "model.onnx");
            File.Copy(Path.Combine(folder, "1", "model.onnx"), existing);
            var missing = Path.Combine(outside + "-missing", "model.onnx");
            var versionFolder = Path.Combine(folder, "1");

            await OverridePairAsync(context, models, report, "absolute", existing, missing, cancellationToken).ConfigureAwait(false);
            await OverridePairAsync(context, models, report, "relative",
                Path.GetRelativePath(versionFolder, existing), Path.GetRelativePath(versionFolder, missing), cancellationToken).ConfigureAwait(false);
            await OverridePairAsync(context, models, report, "dot-dot-in-repository", "../../" + context.Model + "/1/model.onnx", "../../rel_no_such/1/model.onnx", cancellationToken).ConfigureAwait(false);
            await LabelPairAsync(models, report, Path.GetRelativePath(folder, existing), Path.GetRelativePath(folder, missing), cancellationToken).ConfigureAwait(false);

            var file = await context.PostAsync($"/v2/repository/models/{SecurityModel}/load",
                JsonSerializer.Serialize(new { parameters = new Dictionary<string, string> { ["file:../../../" + Path.GetFileName(outside) + "/model.onnx"] = "AAAA" } }), cancellationToken).ConfigureAwait(false);
            report.Check(file.Status is >= 400 and < 500, "security/file-override-escape/rejected", () => file.Describe());

            var (infer, version) = await models.InferAsync(SecurityModel, cancellationToken).ConfigureAwait(false);
            report.Check(infer.Status == 200 && version == "1", "security/override/model-still-serves", () => $"{infer.Describe()} (version {version})");
        }
        finally
        {
            await models.RemoveAsync(SecurityModel, cancellationToken).ConfigureAwait(false);
            if (Directory.Exists(outside))
            {
                Directory.Delete(outside, recursive: true);
            }
        }
    }

    /// <summary>Loads the security model with default_model_filename = <paramref name="existing"/> (a valid model outside
    /// the repository) and = <paramref name="missing"/>: both must be refused, alike, without absolute paths.</summary>
    private static async Task OverridePairAsync(SuiteContext context, SuiteModels models, CategoryReport report, string kind, string existing, string missing,
        CancellationToken cancellationToken)
    {
        string Config(string file) => JsonSerializer.Serialize(new
        {
            backend = "onnxruntime",
            max_batch_size = 8,
            default_model_filename = file,
        });
        async Task<(HttpOutcome Http, GrpcOutcome Grpc)> LoadAsync(string file)
        {
            var http = await models.LoadAsync(SecurityModel, cancellationToken, JsonSerializer.Serialize(new { parameters = new { config = Config(file) } })).ConfigureAwait(false);
            var request = new RepositoryModelLoadRequest { ModelName = SecurityModel };
            request.Parameters["config"] = new ModelRepositoryParameter { StringParam = Config(file) };
            var grpc = await context.GrpcAsync(o => context.Grpc.RepositoryModelLoadAsync(request, o), cancellationToken).ConfigureAwait(false);
            if (http.Status == 200 || grpc.Status == StatusCode.OK)
            {
                // It loaded a file it should not have: put the model back on its own file.
                await models.LoadAsync(SecurityModel, cancellationToken).ConfigureAwait(false);
            }
            return (http, grpc);
        }
        var (httpExisting, grpcExisting) = await LoadAsync(existing).ConfigureAwait(false);
        var (httpMissing, grpcMissing) = await LoadAsync(missing).ConfigureAwait(false);
        var name = $"security/override-{kind}";
        report.Check(httpExisting.IsCleanRejection, $"{name}/existing-file-refused", () => $"default_model_filename '{existing}' (a valid model): {httpExisting.Describe()}");
        report.Check(grpcExisting.IsCleanRejection, $"{name}/existing-file-refused-grpc", () => $"default_model_filename '{existing}' (a valid model): {grpcExisting.Describe()}");
        report.Check(httpMissing.IsCleanRejection, $"{name}/missing-file-refused", () => $"default_model_filename '{missing}': {httpMissing.Describe()}");
        var sameHttp = httpExisting.Status == httpMissing.Status
            && MessageChecks.Normalize(httpExisting.ErrorMessage ?? "", existing) == MessageChecks.Normalize(httpMissing.ErrorMessage ?? "", missing);
        report.Check(sameHttp, $"{name}/no-oracle", () => $"existing: {httpExisting.Describe()} / missing: {httpMissing.Describe()}");
        var sameGrpc = grpcExisting.Status == grpcMissing.Status
            && MessageChecks.Normalize(grpcExisting.Message, existing) == MessageChecks.Normalize(grpcMissing.Message, missing);
        report.Check(sameGrpc, $"{name}/no-oracle-grpc", () => $"existing: {grpcExisting.Describe()} / missing: {grpcMissing.Describe()}");
        foreach (var (which, message, file) in new[] { ("existing", httpExisting.ErrorMessage, existing), ("missing", httpMissing.ErrorMessage, missing) })
        {
            var leak = MessageChecks.AbsolutePath(message, file);
            report.Check(leak is null, $"{name}/{which}/no-absolute-path", () => $"message reveals '{leak}': {message}");
        }
    }

    /// <summary>An override whose output label_filename points outside the model folder, to an existing and a missing file.</summary>
    private static async Task LabelPairAsync(SuiteModels models, CategoryReport report, string existing, string missing, CancellationToken cancellationToken)
    {
        string Body(string file) => JsonSerializer.Serialize(new
        {
            parameters = new
            {
                config = JsonSerializer.Serialize(new
                {
                    backend = "onnxruntime",
                    max_batch_size = 8,
                    output = new[] { new { name = "OUTPUT0", data_type = "TYPE_FP32", dims = new[] { 16 }, label_filename = file } },
                }),
            },
        });
        var a = await models.LoadAsync(SecurityModel, cancellationToken, Body(existing)).ConfigureAwait(false);
        var b = await models.LoadAsync(SecurityModel, cancellationToken, Body(missing)).ConfigureAwait(false);
        if (a.Status == 200 || b.Status == 200)
        {
            await models.LoadAsync(SecurityModel, cancellationToken).ConfigureAwait(false);
        }
        report.Check(a.IsCleanRejection && b.IsCleanRejection, "security/override-label-file/refused", () => $"existing: {a.Describe()} / missing: {b.Describe()}");
        report.Check(a.Status == b.Status && MessageChecks.Normalize(a.ErrorMessage ?? "", existing) == MessageChecks.Normalize(b.ErrorMessage ?? "", missing),
            "security/override-label-file/no-oracle", () => $"existing: {a.Describe()} / missing: {b.Describe()}");
        var leak = MessageChecks.AbsolutePath(a.ErrorMessage, existing) ?? MessageChecks.AbsolutePath(b.ErrorMessage, missing);
        report.Check(leak is null, "security/override-label-file/no-absolute-path", () => $"message reveals '{leak}'");
    }
}
