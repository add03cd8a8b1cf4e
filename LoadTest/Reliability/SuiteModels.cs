using System.Text.Json;
using Inference.Server.ModelTools;

namespace LoadTest.Reliability;

/// <summary>
/// Models the suite puts into the server's repository for the checks that change files (names start with
/// <c>rel_</c>), written with the server's own model tools (<see cref="IdentityModelBuilder"/>: FP32 [batch, 16]
/// identity), loaded and unloaded through the repository API, and removed again.
/// </summary>
public sealed class SuiteModels(SuiteContext context)
{
    public string Repository => context.Options.Repository ?? throw new InvalidOperationException("no --repository");

    public string Folder(string name) => Path.Combine(Repository, name);

    /// <summary>Writes an identity model <paramref name="name"/> (version 1) and returns its folder.</summary>
    public string WriteIdentity(string name, int maxBatchSize = 8, int? maxQueueDelayMicroseconds = 0) =>
        IdentityModelBuilder.Write(Repository, name, width: 16, maxBatchSize: maxBatchSize, maxQueueDelayMicroseconds: maxQueueDelayMicroseconds);

    public Task<HttpOutcome> LoadAsync(string name, CancellationToken cancellationToken, string? body = null) =>
        context.PostAsync($"/v2/repository/models/{Uri.EscapeDataString(name)}/load", body, cancellationToken);

    public Task<HttpOutcome> UnloadAsync(string name, CancellationToken cancellationToken) =>
        context.PostAsync($"/v2/repository/models/{Uri.EscapeDataString(name)}/unload", (string?)null, cancellationToken);

    /// <summary>A good [1,16] JSON infer request to <paramref name="name"/>: the outcome and the model_version of the reply.</summary>
    public async Task<(HttpOutcome Outcome, string? Version)> InferAsync(string name, CancellationToken cancellationToken)
    {
        var body = $$"""{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Range(0, 16))}}]}]}""";
        var r = await context.PostAsync($"/v2/models/{name}/infer", body, cancellationToken).ConfigureAwait(false);
        if (r.Status != 200)
        {
            return (r, null);
        }
        try
        {
            using var doc = JsonDocument.Parse(r.Body);
            return (r, doc.RootElement.TryGetProperty("model_version", out var v) ? v.GetString() : null);
        }
        catch (JsonException)
        {
            return (r, null);
        }
    }

    /// <summary>The repository index rows of <paramref name="name"/>: (version, state, reason).</summary>
    public async Task<IReadOnlyList<(string Version, string State, string Reason)>> IndexAsync(string name, CancellationToken cancellationToken)
    {
        var r = await context.PostAsync("/v2/repository/index", "{}", cancellationToken).ConfigureAwait(false);
        if (r.Status != 200)
        {
            return [];
        }
        using var doc = JsonDocument.Parse(r.Body);
        return [.. doc.RootElement.EnumerateArray()
            .Where(e => e.GetProperty("name").GetString() == name)
            .Select(e => (Text(e, "version"), Text(e, "state"), Text(e, "reason")))];

        static string Text(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
    }

    /// <summary>Unloads <paramref name="name"/> (explicit mode) and deletes its folder; failures are ignored.</summary>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        if (context.Mode == ServerControlMode.Explicit)
        {
            await UnloadAsync(name, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            if (Directory.Exists(Folder(name)))
            {
                Directory.Delete(Folder(name), recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Log.WriteLine($"  could not remove {Folder(name)}: {e.Message}");
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 200 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition().ConfigureAwait(false))
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }
}
