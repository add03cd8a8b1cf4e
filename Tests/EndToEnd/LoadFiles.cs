using System.Text.Json.Nodes;
using Google.Protobuf;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.EndToEnd;

/// <summary>Load requests with model files (<c>file:</c> parameters) over HTTP and gRPC, and what the server wrote.</summary>
internal static class LoadFiles
{
    /// <summary>A config override for the identity model (FP32 [batch,16]): the rest is auto-completed from the ONNX file.</summary>
    public const string Config = """{"backend":"onnxruntime","max_batch_size":8,"instance_group":[{"kind":"KIND_CPU"}]}""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The identity model's ONNX file from the repository the test wrote.</summary>
    public static byte[] IdentityOnnx(string repository) => File.ReadAllBytes(Path.Combine(repository, "identity", "1", "model.onnx"));

    /// <summary>HTTP load parameters: the config (unless null) and each file in base64, keyed <c>file:&lt;path&gt;</c>.</summary>
    public static JsonObject HttpParameters(string? config, params (string Path, byte[] Content)[] files)
    {
        var p = new JsonObject();
        if (config is not null)
        {
            p["config"] = config;
        }
        foreach (var (path, content) in files)
        {
            p["file:" + path] = Convert.ToBase64String(content);
        }
        return p;
    }

    public static Task<HttpResponseMessage> HttpLoadAsync(ServerHost server, string model, JsonObject parameters) =>
        server.Http.PostAsync($"/v2/repository/models/{model}/load", Kserve.Json(new JsonObject { ["parameters"] = parameters }), Ct);

    public static RepositoryModelLoadRequest GrpcLoad(string model, string? config, params (string Path, byte[] Content)[] files)
    {
        var request = new RepositoryModelLoadRequest { ModelName = model };
        if (config is not null)
        {
            request.Parameters["config"] = new ModelRepositoryParameter { StringParam = config };
        }
        foreach (var (path, content) in files)
        {
            request.Parameters["file:" + path] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(content) };
        }
        return request;
    }

    /// <summary>The server's folder for written models (null before the first load with files).</summary>
    public static ModelFileStore Store(ServerHost server) => server.Services.GetRequiredService<ModelFileStore>();

    /// <summary>Every file under the server's folder for written models, relative to it, '/'-separated, ordinal order.</summary>
    public static string[] WrittenFiles(ServerHost server) => Store(server).RootPath is { } root && Directory.Exists(root)
        ? [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal)]
        : [];

    /// <summary>Names listed by the repository index, ordinal order, once each.</summary>
    public static async Task<string[]> IndexNamesAsync(ServerHost server)
    {
        using var index = await server.Http.PostAsync("/v2/repository/index", null, Ct);
        return [.. JsonNode.Parse(await index.Content.ReadAsStringAsync(Ct))!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>Infers 16 floats on <paramref name="model"/> (optionally a version) over HTTP JSON; returns the status.</summary>
    public static async Task<System.Net.HttpStatusCode> InferAsync(ServerHost server, string model, string? version = null)
    {
        var path = version is null ? $"/v2/models/{model}/infer" : $"/v2/models/{model}/versions/{version}/infer";
        var data = Enumerable.Range(0, 16).Select(i => (float)i).ToArray();
        using var response = await server.Http.PostAsync(path,
            Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], data)) }), Ct);
        if (response.StatusCode == System.Net.HttpStatusCode.OK)
        {
            var output = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>());
            Assert.Equal(data, output);
        }
        return response.StatusCode;
    }
}
