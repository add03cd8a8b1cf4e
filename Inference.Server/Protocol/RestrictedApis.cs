using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Primitives;

namespace Inference.Server.Protocol;

/// <summary>Triton's API groups, which <c>--http-restricted-api</c> and <c>--grpc-restricted-protocol</c> restrict.</summary>
public enum ApiGroup
{
    Health,
    Metadata,
    Inference,
    SharedMemory,
    ModelConfig,
    ModelRepository,
    Statistics,
    Trace,
    Logging,
}

/// <summary>One restriction: requests to the group must carry header <see cref="Header"/> with exactly <see cref="Value"/>.</summary>
public sealed record ApiRestriction(string Header, string Value)
{
    /// <summary>Triton's gRPC metadata prefix: <c>--grpc-restricted-protocol=inference:infer-key=v</c> expects
    /// <c>triton-grpc-protocol-infer-key: v</c>, so clients written for Triton work unchanged.</summary>
    public const string GrpcMetadataPrefix = "triton-grpc-protocol-";

    /// <summary>Triton's HTTP wording (with 403).</summary>
    public string Message { get; } = $"This API is restricted, expecting header '{Header}'";

    /// <summary>The gRPC metadata key a call must carry (<see cref="GrpcMetadataPrefix"/> + the key).</summary>
    public string GrpcHeader { get; } = GrpcMetadataPrefix + Header;

    /// <summary>Triton's gRPC wording (with UNAVAILABLE, as Triton answers).</summary>
    public string GrpcMessage { get; } = $"This protocol is restricted, expecting header '{GrpcMetadataPrefix}{Header}'";

    /// <summary>True when the request carries the header once with exactly the expected value; the comparison takes the
    /// same time wherever the first difference is.</summary>
    public bool IsSatisfiedBy(StringValues actual) =>
        actual.Count == 1 && actual[0] is { } a
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a.AsSpan()), MemoryMarshal.AsBytes(Value.AsSpan()));
}

/// <summary>
/// The restricted API groups of one protocol (HTTP or gRPC): a fixed array indexed by <see cref="ApiGroup"/>, read
/// once per endpoint when the endpoints are mapped, so unrestricted endpoints pay nothing per request.
/// </summary>
public sealed class RestrictedApis
{
    public const string HttpFlag = "--http-restricted-api";
    public const string GrpcFlag = "--grpc-restricted-protocol";

    // Before None, which uses it (static fields initialize in order).
    private static readonly int GroupCount = Enum.GetValues<ApiGroup>().Length;

    /// <summary>No group restricted.</summary>
    public static readonly RestrictedApis None = new(new ApiRestriction?[GroupCount]);

    /// <summary>Triton's group names, in <see cref="ApiGroup"/> order.</summary>
    public static readonly IReadOnlyList<string> GroupNames =
        ["health", "metadata", "inference", "shared-memory", "model-config", "model-repository", "statistics", "trace", "logging"];

    private static readonly FrozenDictionary<string, ApiGroup> ByName =
        GroupNames.Select((n, i) => KeyValuePair.Create(n, (ApiGroup)i)).ToFrozenDictionary(StringComparer.Ordinal);

    private readonly ApiRestriction?[] _restrictions;

    private RestrictedApis(ApiRestriction?[] restrictions) => _restrictions = restrictions;

    public bool IsEmpty => Array.TrueForAll(_restrictions, r => r is null);

    /// <summary>The restriction on <paramref name="group"/>, or null when it is open.</summary>
    public ApiRestriction? For(ApiGroup group) => _restrictions[(int)group];

    public static string NameOf(ApiGroup group) => GroupNames[(int)group];

    /// <summary>
    /// Parses Triton's <c>&lt;api-list&gt;:&lt;key&gt;=&lt;value&gt;</c> values of <paramref name="flag"/> (the api list
    /// comma-separated). Each error names the flag; the result holds what parsed. Header keys are compared
    /// case-insensitively (HTTP) and are lower-cased (gRPC metadata keys are lower-case).
    /// </summary>
    public static RestrictedApis Parse(IEnumerable<string>? specs, string flag, out List<string> errors)
    {
        errors = [];
        if (specs is null)
        {
            return None;
        }
        var restrictions = new ApiRestriction?[GroupCount];
        foreach (var spec in specs)
        {
            // Neither API names nor the key hold ':' or '='; the value may.
            var colon = spec.IndexOf(':');
            var equals = colon < 0 ? -1 : spec.IndexOf('=', colon + 1);
            if (colon <= 0 || equals < 0)
            {
                errors.Add($"{flag} '{spec}' must be <api-list>:<key>=<value> (e.g. {flag}=model-repository:admin-key=secret).");
                continue;
            }
            var key = spec[(colon + 1)..equals].Trim().ToLowerInvariant();
            var value = spec[(equals + 1)..];
            if (key.Length == 0 || !IsHeaderName(key))
            {
                errors.Add($"{flag} '{spec}': the header key must be a non-empty HTTP header name (letters, digits, '-', '_', '.').");
                continue;
            }
            if (value.Length == 0)
            {
                errors.Add($"{flag} '{spec}': the header value must not be empty.");
                continue;
            }
            var restriction = new ApiRestriction(key, value);
            foreach (var raw in spec[..colon].Split(','))
            {
                var name = raw.Trim();
                if (!ByName.TryGetValue(name, out var group))
                {
                    errors.Add($"{flag}: unknown API '{name}' in '{spec}'; valid: {string.Join(", ", GroupNames)}.");
                    continue;
                }
                if (restrictions[(int)group] is not null)
                {
                    errors.Add($"{flag}: API '{name}' is restricted more than once; restrict each API in one {flag} only.");
                    continue;
                }
                restrictions[(int)group] = restriction;
            }
        }
        return new RestrictedApis(restrictions);
    }

    /// <summary>Header names we accept: ASCII letters, digits and <c>- _ .</c>, not gRPC's reserved <c>grpc-</c>
    /// prefix nor a binary <c>-bin</c> key.</summary>
    private static bool IsHeaderName(string key) =>
        key.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.')
        && !key.StartsWith("grpc-", StringComparison.Ordinal)
        && !key.EndsWith("-bin", StringComparison.Ordinal);
}
