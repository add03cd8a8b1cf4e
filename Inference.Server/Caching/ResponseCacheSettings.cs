using System.Globalization;

namespace Inference.Server.Caching;

/// <summary>
/// The server side of Triton's response cache: <c>--cache-config &lt;cache&gt;,&lt;setting&gt;=&lt;value&gt;</c> (repeatable, one
/// setting per flag) or the deprecated <c>--response-cache-byte-size N</c>. The one cache implementation is Triton's
/// <c>local</c> (an in-process LRU cache of <c>size</c> bytes, shared by every model); its one setting is <c>size</c>.
/// </summary>
public static class ResponseCacheSettings
{
    public const string CacheConfigFlag = "--cache-config";
    public const string ByteSizeFlag = "--response-cache-byte-size";

    /// <summary>The cache size in bytes: 0 when no cache is configured. <paramref name="errors"/> says what does not parse,
    /// naming the flag (the server then does not start).</summary>
    public static long Parse(IReadOnlyList<string> cacheConfig, long responseCacheByteSize, out List<string> errors)
    {
        errors = [];
        if (cacheConfig.Count > 0 && responseCacheByteSize != 0)
        {
            errors.Add($"Incompatible flags {ByteSizeFlag} and {CacheConfigFlag} both provided. Please provide one or the other.");
            return 0;
        }
        if (responseCacheByteSize < 0)
        {
            errors.Add($"{ByteSizeFlag} must be 0 (no cache) or more (got {responseCacheByteSize}).");
            return 0;
        }
        if (cacheConfig.Count == 0)
        {
            return responseCacheByteSize;
        }
        long? size = null;
        foreach (var arg in cacheConfig)
        {
            var comma = arg.IndexOf(',', StringComparison.Ordinal);
            if (comma <= 0)
            {
                errors.Add($"No cache specified. {CacheConfigFlag} option format is <cache name>,<setting>=<value>. Got '{arg}'.");
                continue;
            }
            var equals = arg.IndexOf('=', comma + 1);
            if (equals < 0 || equals == comma + 1 || equals == arg.Length - 1)
            {
                errors.Add($"{CacheConfigFlag} option format is '<cache name>,<setting>=<value>'. Got '{arg}'.");
                continue;
            }
            var cache = arg[..comma];
            var setting = arg[(comma + 1)..equals];
            var value = arg[(equals + 1)..];
            if (cache != "local")
            {
                errors.Add($"{CacheConfigFlag}: cache implementation '{cache}' is not available; this server implements the 'local' cache only.");
                continue;
            }
            if (setting != "size")
            {
                errors.Add($"{CacheConfigFlag}: the local cache has no setting '{setting}'; its one setting is 'size' (bytes).");
                continue;
            }
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) || bytes < 1)
            {
                errors.Add($"Failed to initialize LocalCache: 'size' must be a positive number of bytes. Got '{value}'.");
                continue;
            }
            size = bytes;
        }
        if (errors.Count == 0 && size is null)
        {
            errors.Add("Failed to initialize LocalCache: config didn't contain a valid 'size' field.");
        }
        return errors.Count == 0 ? size!.Value : 0;
    }
}
